"""Baseline: the job table as the SQLite-only store made it.

Databases written before migrations existed already hold this table; they
are adopted as they are, with only the idempotency index brought up to date
(one job kept per key where concurrent resends had made two).

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    inspector = sa.inspect(bind)
    if not inspector.has_table("jobs"):
        op.create_table(
            "jobs",
            sa.Column("id", sa.String(64), primary_key=True),
            sa.Column("status", sa.String(16), nullable=False),
            sa.Column("created_at", sa.Float, nullable=False),
            sa.Column("options", sa.Text, nullable=False),
            sa.Column("filename", sa.Text, nullable=False),
            sa.Column("audio_path", sa.Text),
            sa.Column("progress", sa.Float, nullable=False, server_default=sa.text("0")),
            sa.Column("stage", sa.String(64)),
            sa.Column("started_at", sa.Float),
            sa.Column("finished_at", sa.Float),
            sa.Column("heartbeat_at", sa.Float),
            sa.Column("attempts", sa.Integer, nullable=False, server_default=sa.text("0")),
            sa.Column("error", sa.Text),
            sa.Column("result", sa.Text),
            sa.Column("owner", sa.String(64)),
            sa.Column("idempotency_key", sa.String(200)),
            sa.Column("upload_sha256", sa.String(64)),
            sa.Column("callback_url", sa.Text),
            sa.Column("batch_id", sa.String(64)),
        )
    indexes = (
        {index["name"] for index in inspector.get_indexes("jobs")} if inspector.has_table("jobs") else set()
    )
    if "jobs_batch" not in indexes:
        op.create_index(
            "jobs_batch",
            "jobs",
            ["batch_id"],
            sqlite_where=sa.text("batch_id IS NOT NULL"),
            postgresql_where=sa.text("batch_id IS NOT NULL"),
        )
    if "jobs_status_created" not in indexes:
        op.create_index("jobs_status_created", "jobs", ["status", "created_at"])
    if "jobs_idempotency" in indexes:
        op.drop_index("jobs_idempotency", table_name="jobs")
    if "jobs_idempotency_any_owner" not in indexes:
        op.execute(
            "UPDATE jobs SET idempotency_key = NULL WHERE idempotency_key IS NOT NULL AND id NOT IN ("
            " SELECT keep FROM (SELECT MIN(id) AS keep FROM jobs WHERE idempotency_key IS NOT NULL"
            " GROUP BY coalesce(owner, ''), idempotency_key) AS kept)"
        )
        op.create_index(
            "jobs_idempotency_any_owner",
            "jobs",
            [sa.text("coalesce(owner, '')"), "idempotency_key"],
            unique=True,
            sqlite_where=sa.text("idempotency_key IS NOT NULL"),
            postgresql_where=sa.text("idempotency_key IS NOT NULL"),
        )


def downgrade() -> None:
    op.drop_table("jobs")
