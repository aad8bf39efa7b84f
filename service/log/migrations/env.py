"""Alembic environment: runs on the connection (and inside the transaction) that
service.log.migrate hands over, so every migration runs under its lock."""
from __future__ import annotations

from alembic import context

from service.log.schema import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("kør migreringer gennem service.log.open_store (eller service.log.migrate.upgrade)")
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True, compare_type=True)
with context.begin_transaction():
    context.run_migrations()
