"""What the tests share besides fixtures: credentials, app builders, data seeding, servers and
processes, Redis introspection, fault injection. Fixtures stay in ``tests/conftest.py``; test
modules import these helpers as ``from .support.<module> import ...`` (``tests`` is a package
on pytest's ``pythonpath``)."""
