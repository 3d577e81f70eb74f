"""Route tables, one module per cache domain; each ends with ``routes = [...]``."""
