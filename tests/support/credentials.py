"""The credentials of the test apps: the admin API key every test settings object carries."""

from __future__ import annotations

__all__ = ["ADMIN_KEY", "HEADERS"]

# The admin API key of the `settings` fixture (its SHA-256 is configured, never the key).
ADMIN_KEY = "test-admin-key"
# The headers of an admin request.
HEADERS = {"X-API-Key": ADMIN_KEY}
