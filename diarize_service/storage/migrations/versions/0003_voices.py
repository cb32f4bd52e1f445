"""Enrolled voices (issue #23): a voices table, and the speakers' voiceprints kept with each job.

``voices`` holds voiceprints (CAM++ embeddings as JSON text, never audio),
each owned by the API key that enrolled it; names are unique per key, since
a name replaces a speaker label in results.  ``jobs.speaker_embeddings``
keeps a finished job's per-speaker prints so that a voice can be enrolled
from the job after its audio is gone; it is erased with the result.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "voices",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("owner", sa.String(64)),
        sa.Column("name", sa.String(80), nullable=False),
        sa.Column("role", sa.String(32)),
        sa.Column("embedding", sa.Text, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("source_job_id", sa.String(64)),
    )
    # NULL owners (authentication off) never collide in a unique index: coalesce, as for jobs
    op.create_index("voices_owner_name", "voices", [sa.text("coalesce(owner, '')"), "name"], unique=True)
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("speaker_embeddings", sa.Text))


def downgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("speaker_embeddings")
    op.drop_index("voices_owner_name", table_name="voices")
    op.drop_table("voices")
