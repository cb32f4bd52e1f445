"""The job store: the single source of truth for job state.

SQLite in WAL mode by default: it survives restarts and ``kill -9``, and lets
several API worker processes on one box share one queue (claiming is a single
atomic ``UPDATE ... RETURNING``).  :class:`JobStore` is the interface a
networked store (PostgreSQL, Redis) implements for a cluster.

Calls are short (sub-millisecond on local disk), so they are made directly
from the event loop; a networked implementation would make them async.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

from ..jobs.models import Job, JobOptions, JobStatus

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id            TEXT PRIMARY KEY,
    status        TEXT NOT NULL,
    created_at    REAL NOT NULL,
    options       TEXT NOT NULL,
    filename      TEXT NOT NULL,
    audio_path    TEXT,
    progress      REAL NOT NULL DEFAULT 0,
    stage         TEXT,
    started_at    REAL,
    finished_at   REAL,
    heartbeat_at  REAL,
    attempts      INTEGER NOT NULL DEFAULT 0,
    error         TEXT,
    result        TEXT,
    owner         TEXT,
    idempotency_key TEXT,
    upload_sha256 TEXT,
    callback_url  TEXT,
    batch_id      TEXT
);
CREATE INDEX IF NOT EXISTS jobs_batch ON jobs (batch_id) WHERE batch_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS jobs_status_created ON jobs (status, created_at);
"""
# One job per (owner, key).  The owner is NULL when authentication is off, and NULLs never collide
# in a unique index, so the index is on coalesce(owner, ''): two concurrent resends without API keys
# had created two jobs.  Databases from before keep their oldest job per key.
_IDEMPOTENCY_INDEX = """
DROP INDEX IF EXISTS jobs_idempotency;
UPDATE jobs SET idempotency_key = NULL
    WHERE idempotency_key IS NOT NULL AND rowid NOT IN (
        SELECT MIN(rowid) FROM jobs WHERE idempotency_key IS NOT NULL
        GROUP BY coalesce(owner, ''), idempotency_key);
CREATE UNIQUE INDEX jobs_idempotency_any_owner ON jobs (coalesce(owner, ''), idempotency_key)
    WHERE idempotency_key IS NOT NULL;
"""


class JobStore(Protocol):
    def add(self, job: Job) -> None: ...
    def add_many(self, jobs: list[Job]) -> None: ...
    def get(self, job_id: str) -> Job | None: ...
    def claim_next(self) -> Job | None: ...
    def update_progress(self, job_id: str, progress: float, stage: str) -> None: ...
    def heartbeat(self, job_id: str) -> None: ...
    def complete(self, job_id: str, result: dict[str, Any]) -> None: ...
    def fail(self, job_id: str, error: str) -> None: ...
    def requeue_stale(self, older_than: float, max_attempts: int) -> list[str]: ...
    def count(self, status: JobStatus) -> int: ...
    def clear_audio_path(self, job_id: str) -> None: ...
    def requeue(self, job_id: str) -> None: ...
    def list(
        self, status: JobStatus | None, limit: int, offset: int, owner: str | None = None
    ) -> tuple[list[Job], int]: ...
    def find_idempotent(self, owner: str | None, key: str) -> Job | None: ...
    def batch(self, batch_id: str, owner: str | None) -> list[Job]: ...
    def delete(self, job_id: str) -> bool: ...
    def expire_results(self, finished_before: float) -> list[str]: ...


class SQLiteJobStore:
    """:class:`JobStore` on a local SQLite file."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        # Transcripts are personal data: owner-only, like the audio.  SQLite gives the -wal and -shm
        # files the database file's permissions, so creating it 0600 covers all three.
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
        os.chmod(path, 0o600)
        self._conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=30)
        self._conn.row_factory = sqlite3.Row
        self._lock = threading.Lock()
        with self._tx() as cur:
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.executescript(_SCHEMA)
            exists = cur.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = 'jobs_idempotency_any_owner'"
            ).fetchone()
            if not exists:
                cur.executescript(_IDEMPOTENCY_INDEX)

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Cursor]:
        with self._lock:
            cur = self._conn.cursor()
            try:
                yield cur
            finally:
                cur.close()

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    @staticmethod
    def _row_to_job(row: sqlite3.Row) -> Job:
        return Job(
            id=row["id"],
            status=JobStatus(row["status"]),
            created_at=row["created_at"],
            options=JobOptions.model_validate_json(row["options"]),
            filename=row["filename"],
            audio_path=row["audio_path"],
            progress=row["progress"],
            stage=row["stage"],
            started_at=row["started_at"],
            finished_at=row["finished_at"],
            heartbeat_at=row["heartbeat_at"],
            attempts=row["attempts"],
            error=row["error"],
            result=json.loads(row["result"]) if row["result"] else None,
            owner=row["owner"],
            idempotency_key=row["idempotency_key"],
            upload_sha256=row["upload_sha256"],
            callback_url=row["callback_url"],
            batch_id=row["batch_id"],
        )

    _INSERT = (
        "INSERT INTO jobs (id, status, created_at, options, filename, audio_path, owner, "
        "idempotency_key, upload_sha256, callback_url, batch_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    )

    @staticmethod
    def _insert_row(job: Job) -> tuple:
        return (
            job.id,
            job.status.value,
            job.created_at,
            job.options.model_dump_json(),
            job.filename,
            job.audio_path,
            job.owner,
            job.idempotency_key,
            job.upload_sha256,
            job.callback_url,
            job.batch_id,
        )

    def add(self, job: Job) -> None:
        with self._tx() as cur:
            cur.execute(self._INSERT, self._insert_row(job))

    def add_many(self, jobs: list[Job]) -> None:
        """Insert *jobs* in one transaction: a batch is queued whole or not at all."""
        with self._tx() as cur:
            cur.execute("BEGIN IMMEDIATE")
            try:
                cur.executemany(self._INSERT, [self._insert_row(job) for job in jobs])
            except BaseException:
                cur.execute("ROLLBACK")
                raise
            cur.execute("COMMIT")

    def get(self, job_id: str) -> Job | None:
        with self._tx() as cur:
            row = cur.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
        return self._row_to_job(row) if row else None

    def claim_next(self) -> Job | None:
        """Atomically move the oldest queued job to processing and return it."""
        now = time.time()
        with self._tx() as cur:
            row = cur.execute(
                "UPDATE jobs SET status = ?, started_at = ?, heartbeat_at = ?, attempts = attempts + 1, "
                "progress = 0, stage = 'starting' "
                "WHERE id = (SELECT id FROM jobs WHERE status = ? ORDER BY created_at, rowid LIMIT 1) "
                "RETURNING *",
                (JobStatus.PROCESSING.value, now, now, JobStatus.QUEUED.value),
            ).fetchone()
        return self._row_to_job(row) if row else None

    def update_progress(self, job_id: str, progress: float, stage: str) -> None:
        with self._tx() as cur:
            cur.execute(
                "UPDATE jobs SET progress = MAX(progress, ?), stage = ?, heartbeat_at = ? "
                "WHERE id = ? AND status = ?",
                (progress, stage, time.time(), job_id, JobStatus.PROCESSING.value),
            )

    def heartbeat(self, job_id: str) -> None:
        with self._tx() as cur:
            cur.execute(
                "UPDATE jobs SET heartbeat_at = ? WHERE id = ? AND status = ?",
                (time.time(), job_id, JobStatus.PROCESSING.value),
            )

    def complete(self, job_id: str, result: dict[str, Any]) -> None:
        with self._tx() as cur:
            cur.execute(
                "UPDATE jobs SET status = ?, progress = 1.0, stage = 'done', finished_at = ?, result = ?, "
                "error = NULL WHERE id = ?",
                (JobStatus.COMPLETED.value, time.time(), json.dumps(result), job_id),
            )

    def fail(self, job_id: str, error: str) -> None:
        with self._tx() as cur:
            cur.execute(
                "UPDATE jobs SET status = ?, stage = 'failed', finished_at = ?, error = ? WHERE id = ?",
                (JobStatus.FAILED.value, time.time(), error, job_id),
            )

    def requeue_stale(self, older_than: float, max_attempts: int) -> list[str]:
        """Return interrupted jobs (no heartbeat since *older_than*) to the queue.

        A job interrupted ``max_attempts`` times is failed instead, so a file
        that crashes the server on every try cannot loop forever.
        """
        with self._tx() as cur:
            failed = cur.execute(
                "UPDATE jobs SET status = ?, stage = 'failed', finished_at = ?, "
                "error = 'Processing was interrupted ' || attempts || ' times (server restarts or "
                "crashes); giving up.' "
                "WHERE status = ? AND heartbeat_at < ? AND attempts >= ? RETURNING id",
                (JobStatus.FAILED.value, time.time(), JobStatus.PROCESSING.value, older_than, max_attempts),
            ).fetchall()
            requeued = cur.execute(
                "UPDATE jobs SET status = ?, progress = 0, stage = 'requeued' "
                "WHERE status = ? AND heartbeat_at < ? RETURNING id",
                (JobStatus.QUEUED.value, JobStatus.PROCESSING.value, older_than),
            ).fetchall()
        del failed
        return [r["id"] for r in requeued]

    def count(self, status: JobStatus) -> int:
        with self._tx() as cur:
            return cur.execute("SELECT COUNT(*) FROM jobs WHERE status = ?", (status.value,)).fetchone()[0]

    def clear_audio_path(self, job_id: str) -> None:
        with self._tx() as cur:
            cur.execute("UPDATE jobs SET audio_path = NULL WHERE id = ?", (job_id,))

    def requeue(self, job_id: str) -> None:
        """Put a job interrupted by a graceful shutdown back at its place in the queue."""
        with self._tx() as cur:
            cur.execute(
                "UPDATE jobs SET status = ?, progress = 0, stage = 'requeued', "
                "attempts = MAX(attempts - 1, 0) WHERE id = ? AND status = ?",
                (JobStatus.QUEUED.value, job_id, JobStatus.PROCESSING.value),
            )

    def batch(self, batch_id: str, owner: str | None) -> list[Job]:
        """The jobs of one batch (results omitted), oldest first."""
        with self._tx() as cur:
            rows = cur.execute(
                "SELECT * FROM jobs WHERE batch_id = ? AND (? IS NULL OR owner = ?) "
                "ORDER BY created_at, rowid",
                (batch_id, owner, owner),
            ).fetchall()
        jobs = [self._row_to_job(row) for row in rows]
        for job in jobs:
            job.result = None
        return jobs

    def find_idempotent(self, owner: str | None, key: str) -> Job | None:
        with self._tx() as cur:
            row = cur.execute(
                "SELECT * FROM jobs WHERE coalesce(owner, '') = coalesce(?, '') AND idempotency_key = ?",
                (owner, key),
            ).fetchone()
        return self._row_to_job(row) if row else None

    def list(
        self, status: JobStatus | None, limit: int, offset: int, owner: str | None = None
    ) -> tuple[list[Job], int]:
        """A page of jobs, newest first (results omitted), and the total count."""
        clauses, args = [], []
        if status:
            clauses.append("status = ?")
            args.append(status.value)
        if owner is not None:
            clauses.append("owner = ?")
            args.append(owner)
        where = ("WHERE " + " AND ".join(clauses)) if clauses else ""
        with self._tx() as cur:
            total = cur.execute(f"SELECT COUNT(*) FROM jobs {where}", args).fetchone()[0]
            rows = cur.execute(
                f"SELECT * FROM jobs {where} ORDER BY created_at DESC, rowid DESC LIMIT ? OFFSET ?",
                [*args, limit, offset],
            ).fetchall()
        jobs = [self._row_to_job(row) for row in rows]
        for job in jobs:
            job.result = None
        return jobs, total

    def delete(self, job_id: str) -> bool:
        with self._tx() as cur:
            return cur.execute("DELETE FROM jobs WHERE id = ?", (job_id,)).rowcount > 0

    def expire_results(self, finished_before: float) -> list[str]:
        """Drop results of jobs finished before *finished_before*; the record stays (-> 410)."""
        with self._tx() as cur:
            rows = cur.execute(
                "UPDATE jobs SET result = NULL, stage = 'expired' "
                "WHERE finished_at < ? AND stage != 'expired' AND status IN (?, ?) RETURNING id",
                (finished_before, JobStatus.COMPLETED.value, JobStatus.FAILED.value),
            ).fetchall()
        return [r["id"] for r in rows]
