"""The job table, described once for SQLAlchemy: queries and Alembic migrations share it.

Columns are portable types only (text, float, integer), so the same code
runs on SQLite for the one-box default and PostgreSQL in cluster mode.  The
result stays JSON text rather than JSONB: the service never queries inside
it, and one encoding keeps both engines byte-for-byte alike.
"""

from __future__ import annotations

from sqlalchemy import Column, Float, Index, Integer, MetaData, String, Table, Text, func, text

metadata = MetaData()

jobs = Table(
    "jobs",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("status", String(16), nullable=False),
    Column("created_at", Float, nullable=False),
    Column("options", Text, nullable=False),
    Column("filename", Text, nullable=False),
    Column("audio_path", Text),
    Column("progress", Float, nullable=False, server_default=text("0")),
    Column("stage", String(64)),
    Column("started_at", Float),
    Column("finished_at", Float),
    Column("heartbeat_at", Float),
    Column("attempts", Integer, nullable=False, server_default=text("0")),
    Column("error", Text),
    Column("result", Text),
    Column("owner", String(64)),
    Column("idempotency_key", String(200)),
    Column("upload_sha256", String(64)),
    Column("callback_url", Text),
    Column("batch_id", String(64)),
    # cluster mode (migration 0002): which worker holds the job, and when its message was last sent
    Column("worker", String(200)),
    Column("enqueued_at", Float),
    # issue #23 (migration 0003): the speakers' voiceprints, JSON text; erased with the result
    Column("speaker_embeddings", Text),
)

Index(
    "jobs_batch",
    jobs.c.batch_id,
    sqlite_where=jobs.c.batch_id.isnot(None),
    postgresql_where=jobs.c.batch_id.isnot(None),
)
Index("jobs_status_created", jobs.c.status, jobs.c.created_at)
# One job per (owner, key).  The owner is NULL when authentication is off, and NULLs never collide
# in a unique index, so the index is on coalesce(owner, ''): concurrent resends without API keys
# had created two jobs.
Index(
    "jobs_idempotency_any_owner",
    func.coalesce(jobs.c.owner, ""),
    jobs.c.idempotency_key,
    unique=True,
    sqlite_where=jobs.c.idempotency_key.isnot(None),
    postgresql_where=jobs.c.idempotency_key.isnot(None),
)

# --- issue #23 (migration 0003): enrolled voices, owned by the API key that enrolled them.
# ``embedding`` is a voiceprint as JSON text ({"embedding": [...], "seconds": ...}), never audio.
voices = Table(
    "voices",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("owner", String(64)),
    Column("name", String(80), nullable=False),
    Column("role", String(32)),
    Column("embedding", Text, nullable=False),
    Column("created_at", Float, nullable=False),
    Column("source_job_id", String(64)),
    Column("sample_keys", Text),  # migration 0004: JSON list of voiceprints.fingerprint, one per sample
)
Index("voices_owner_name", func.coalesce(voices.c.owner, ""), voices.c.name, unique=True)
# --- end issue #23
