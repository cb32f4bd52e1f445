"""Alembic migrations of the job store, run at start-up (see :func:`..database.migrate`)."""
