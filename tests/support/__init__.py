"""Shared test helpers: paths, example bodies, engines, the app, servers and PostgreSQL.

Fixtures are registered by tests/conftest.py; plain helpers are imported
(`from support.bodies import example`)."""
