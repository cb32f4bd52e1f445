"""Cluster mode: the worker that holds a job, and when its queue message was last sent.

``worker`` fences a job to one worker (a worker whose lease was taken over
can no longer write the result); ``enqueued_at`` lets the sweeper find queued
jobs whose message never reached the broker.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("worker", sa.String(200)))
        batch.add_column(sa.Column("enqueued_at", sa.Float))


def downgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("enqueued_at")
        batch.drop_column("worker")
