"""Alembic environment: migrations run on the connection the service hands over.

The service calls Alembic programmatically at start-up (no ``alembic.ini``),
so there is exactly one way the schema gets made, in every mode.
"""

from __future__ import annotations

from alembic import context

from diarize_service.storage.schema import metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
