"""Alembic environment: runs on the connection that clarion.db.migrate hands over."""

from alembic import context

from clarion.db.models import Base

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
