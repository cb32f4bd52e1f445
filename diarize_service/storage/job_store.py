"""The job store: the single source of truth for job state, on SQLite or PostgreSQL.

The same SQLAlchemy Core queries serve both modes: SQLite (WAL) for the
one-box default, where several API worker processes share one file, and
PostgreSQL for a cluster of API replicas and model workers.  Every state
change is one atomic statement:

* a claim is ``UPDATE ... WHERE status = 'queued' ... RETURNING``, so two
  claimers never get the same job (on PostgreSQL the oldest-job subquery
  also ``SKIP LOCKED``s rows another claimer holds);
* a worker's writes (progress, heartbeat, result) name the worker that
  claimed the job, so a worker whose lease was taken over can no longer write;
* results are JSON text (see :mod:`.schema`).

Calls are short, so they are made directly from the event loop; on
PostgreSQL each is one round trip from a small connection pool.
"""

from __future__ import annotations

import contextlib
import json
import time
import zlib
from collections.abc import Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import (
    Engine,
    String,
    and_,
    cast,
    delete,
    func,
    insert,
    literal,
    literal_column,
    or_,
    select,
    update,
)
from sqlalchemy.engine import Row

from ..jobs.models import Job, JobStatus
from .database import make_engine, migrate, sqlite_url
from .rows import job_values, row_to_job
from .schema import jobs

QUEUED, PROCESSING = JobStatus.QUEUED.value, JobStatus.PROCESSING.value
COMPLETED, FAILED = JobStatus.COMPLETED.value, JobStatus.FAILED.value


class JobStore(Protocol):
    def add(self, job: Job) -> None: ...
    def add_many(self, jobs: list[Job]) -> None: ...
    def get(self, job_id: str) -> Job | None: ...
    def claim_next(self, worker: str | None = None) -> Job | None: ...
    def claim(self, job_id: str, worker: str) -> Job | None: ...
    def update_progress(
        self, job_id: str, progress: float, stage: str, worker: str | None = None
    ) -> None: ...
    def heartbeat(self, job_id: str, worker: str | None = None) -> bool: ...
    def complete(
        self, job_id: str, result: dict[str, Any], worker: str | None = None, voiceprints: str | None = None
    ) -> bool: ...
    def fail(self, job_id: str, error: str, worker: str | None = None) -> bool: ...
    def requeue_stale(self, older_than: float, max_attempts: int) -> list[str]: ...
    def fail_exhausted(self, older_than: float, max_attempts: int) -> list[str]: ...
    def exclusive(self, name: str) -> AbstractContextManager[bool]: ...
    def count(self, status: JobStatus) -> int: ...
    def clear_audio_path(self, job_id: str) -> None: ...
    def requeue(self, job_id: str, worker: str | None = None) -> bool: ...
    def list(
        self, status: JobStatus | None, limit: int, offset: int, owner: str | None = None
    ) -> tuple[list[Job], int]: ...
    def find_idempotent(self, owner: str | None, key: str) -> Job | None: ...
    def batch(self, batch_id: str, owner: str | None) -> list[Job]: ...
    def delete(self, job_id: str) -> bool: ...
    def expire_results(self, finished_before: float) -> list[str]: ...
    def mark_enqueued(self, job_ids: list[str]) -> None: ...
    def unsent(self, enqueued_before: float, limit: int) -> list[str]: ...
    def ping(self) -> None: ...
    def close(self) -> None: ...


def _held_by(job_id: str, worker: str | None):
    """The row of a job being processed -- by *worker*, when one is named (its lease)."""
    clause = and_(jobs.c.id == job_id, jobs.c.status == PROCESSING)
    return clause if worker is None else and_(clause, jobs.c.worker == worker)


class SqlJobStore:
    """:class:`JobStore` on any SQLAlchemy URL (SQLite file or PostgreSQL)."""

    def __init__(self, url: str, engine: Engine | None = None) -> None:
        self.engine = engine or make_engine(url)
        migrate(self.engine)
        self._postgres = self.engine.dialect.name == "postgresql"
        # insertion order breaks ties in created_at: SQLite's rowid, else the id
        self._tiebreak = literal_column("rowid") if self.engine.dialect.name == "sqlite" else jobs.c.id

    def close(self) -> None:
        self.engine.dispose()

    def _greatest(self, a, b):
        """SQL max of two values: ``max()`` on SQLite, ``greatest()`` on PostgreSQL."""
        return func.greatest(a, b) if self._postgres else func.max(a, b)

    @contextlib.contextmanager
    def exclusive(self, name: str) -> Iterator[bool]:
        """Hold the cluster-wide lock *name* while the block runs; yields False if another holds it.

        PostgreSQL: a session advisory lock on a dedicated connection, released
        at the end (or by the server when the holder dies).  SQLite serves one
        box, where every holder may act: yields True.
        """
        if not self._postgres:
            yield True
            return
        key = zlib.crc32(name.encode())
        with self.engine.connect() as conn:
            got = bool(conn.execute(select(func.pg_try_advisory_lock(key))).scalar())
            try:
                yield got
            finally:
                if got:
                    conn.execute(select(func.pg_advisory_unlock(key)))
                conn.commit()

    def ping(self) -> None:
        """Raise if the database cannot be reached (readiness)."""
        with self.engine.connect() as conn:
            conn.execute(select(1))

    def _one(self, statement) -> Row | None:
        with self.engine.begin() as conn:
            return conn.execute(statement).first()

    def _rowcount(self, statement) -> int:
        with self.engine.begin() as conn:
            return conn.execute(statement).rowcount

    def _ids(self, statement) -> list[str]:
        with self.engine.begin() as conn:
            return [row[0] for row in conn.execute(statement)]

    def add(self, job: Job) -> None:
        with self.engine.begin() as conn:
            conn.execute(insert(jobs).values(**job_values(job)))

    def add_many(self, new_jobs: list[Job]) -> None:
        """Insert *new_jobs* in one transaction: a batch is queued whole or not at all."""
        with self.engine.begin() as conn:
            conn.execute(insert(jobs), [job_values(job) for job in new_jobs])

    def get(self, job_id: str) -> Job | None:
        row = self._one(select(jobs).where(jobs.c.id == job_id))
        return row_to_job(row) if row else None

    def _claim_values(self, worker: str | None) -> dict[str, Any]:
        now = time.time()
        return {
            "status": PROCESSING,
            "started_at": now,
            "heartbeat_at": now,
            "attempts": jobs.c.attempts + 1,
            "progress": 0,
            "stage": "starting",
            "worker": worker,
        }

    def claim_next(self, worker: str | None = None) -> Job | None:
        """Atomically move the oldest queued job to processing and return it."""
        oldest = (
            select(jobs.c.id)
            .where(jobs.c.status == QUEUED)
            .order_by(jobs.c.created_at, self._tiebreak)
            .limit(1)
        )
        if self._postgres:
            oldest = oldest.with_for_update(skip_locked=True)
        statement = (
            update(jobs)
            .where(jobs.c.id == oldest.scalar_subquery(), jobs.c.status == QUEUED)
            .values(**self._claim_values(worker))
            .returning(*jobs.c)
        )
        row = self._one(statement)
        return row_to_job(row) if row else None

    def claim(self, job_id: str, worker: str) -> Job | None:
        """Take one queued job for *worker*; None when it is not queued (done, running, deleted)."""
        statement = (
            update(jobs)
            .where(jobs.c.id == job_id, jobs.c.status == QUEUED)
            .values(**self._claim_values(worker))
            .returning(*jobs.c)
        )
        row = self._one(statement)
        return row_to_job(row) if row else None

    def update_progress(self, job_id: str, progress: float, stage: str, worker: str | None = None) -> None:
        self._rowcount(
            update(jobs)
            .where(_held_by(job_id, worker))
            .values(progress=self._greatest(jobs.c.progress, progress), stage=stage, heartbeat_at=time.time())
        )

    def heartbeat(self, job_id: str, worker: str | None = None) -> bool:
        """Renew the job's lease; False when the job is no longer this worker's (deleted, taken over)."""
        return (
            self._rowcount(update(jobs).where(_held_by(job_id, worker)).values(heartbeat_at=time.time())) > 0
        )

    def complete(
        self, job_id: str, result: dict[str, Any], worker: str | None = None, voiceprints: str | None = None
    ) -> bool:
        """Store the result (and, issue #23, the speakers' voiceprints as JSON text) of a held job."""
        return (
            self._rowcount(
                update(jobs)
                .where(_held_by(job_id, worker))
                .values(
                    status=COMPLETED,
                    progress=1.0,
                    stage="done",
                    finished_at=time.time(),
                    result=json.dumps(result),
                    speaker_embeddings=voiceprints,  # issue #23
                    error=None,
                )
            )
            > 0
        )

    def fail(self, job_id: str, error: str, worker: str | None = None) -> bool:
        clause = jobs.c.id == job_id if worker is None else _held_by(job_id, worker)
        return (
            self._rowcount(
                update(jobs)
                .where(clause)
                .values(status=FAILED, stage="failed", finished_at=time.time(), error=error)
            )
            > 0
        )

    def fail_exhausted(self, older_than: float, max_attempts: int) -> list[str]:
        """Fail interrupted jobs (no heartbeat since *older_than*) that already had *max_attempts*.

        A file that crashes the server on every try cannot loop forever.
        """
        return self._ids(
            update(jobs)
            .where(
                jobs.c.status == PROCESSING, jobs.c.heartbeat_at < older_than, jobs.c.attempts >= max_attempts
            )
            .values(
                status=FAILED,
                stage="failed",
                finished_at=time.time(),
                worker=None,
                error=literal("Processing was interrupted ")
                + cast(jobs.c.attempts, String)
                + literal(" times (server restarts or crashes); giving up."),
            )
            .returning(jobs.c.id)
        )

    def requeue_stale(self, older_than: float, max_attempts: int) -> list[str]:
        """Return interrupted jobs (no heartbeat since *older_than*) to the queue; fail exhausted ones."""
        self.fail_exhausted(older_than, max_attempts)
        stale = and_(jobs.c.status == PROCESSING, jobs.c.heartbeat_at < older_than)
        with self.engine.begin() as conn:
            rows = conn.execute(
                update(jobs)
                .where(stale)
                .values(status=QUEUED, progress=0, stage="requeued", worker=None, enqueued_at=None)
                .returning(jobs.c.id)
            )
            return [row[0] for row in rows]

    def count(self, status: JobStatus) -> int:
        row = self._one(select(func.count()).select_from(jobs).where(jobs.c.status == status.value))
        return int(row[0]) if row else 0

    def clear_audio_path(self, job_id: str) -> None:
        self._rowcount(update(jobs).where(jobs.c.id == job_id).values(audio_path=None))

    def requeue(self, job_id: str, worker: str | None = None) -> bool:
        """Put a job interrupted by a graceful shutdown back at its place in the queue."""
        return (
            self._rowcount(
                update(jobs)
                .where(_held_by(job_id, worker))
                .values(
                    status=QUEUED,
                    progress=0,
                    stage="requeued",
                    attempts=self._greatest(jobs.c.attempts - 1, 0),
                    worker=None,
                    enqueued_at=None,
                )
            )
            > 0
        )

    def _without_results(self, statement) -> list[Job]:
        with self.engine.begin() as conn:
            found = [row_to_job(row) for row in conn.execute(statement)]
        for job in found:
            job.result = None
        return found

    def batch(self, batch_id: str, owner: str | None) -> list[Job]:
        """The jobs of one batch (results omitted), oldest first."""
        statement = select(jobs).where(jobs.c.batch_id == batch_id)
        if owner is not None:
            statement = statement.where(jobs.c.owner == owner)
        return self._without_results(statement.order_by(jobs.c.created_at, self._tiebreak))

    def find_idempotent(self, owner: str | None, key: str) -> Job | None:
        row = self._one(
            select(jobs).where(
                func.coalesce(jobs.c.owner, "") == (owner or ""), jobs.c.idempotency_key == key
            )
        )
        return row_to_job(row) if row else None

    def list(
        self, status: JobStatus | None, limit: int, offset: int, owner: str | None = None
    ) -> tuple[list[Job], int]:
        """A page of jobs, newest first (results omitted), and the total count."""
        clauses = []
        if status:
            clauses.append(jobs.c.status == status.value)
        if owner is not None:
            clauses.append(jobs.c.owner == owner)
        where = and_(*clauses) if clauses else None
        total_q = select(func.count()).select_from(jobs)
        page_q = (
            select(jobs).order_by(jobs.c.created_at.desc(), self._tiebreak.desc()).limit(limit).offset(offset)
        )
        if where is not None:
            total_q, page_q = total_q.where(where), page_q.where(where)
        row = self._one(total_q)
        return self._without_results(page_q), int(row[0]) if row else 0

    def delete(self, job_id: str) -> bool:
        return self._rowcount(delete(jobs).where(jobs.c.id == job_id)) > 0

    def expire_results(self, finished_before: float) -> list[str]:
        """Drop results of jobs finished before *finished_before*; the record stays (-> 410).

        The uploaded file's name goes too: call recordings are often named after the caller's
        number or account (personal information under POPIA), and a kept name outlives the call.
        """
        return self._ids(
            update(jobs)
            .where(
                jobs.c.finished_at < finished_before,
                jobs.c.stage != "expired",
                jobs.c.status.in_((COMPLETED, FAILED)),
            )
            .values(result=None, speaker_embeddings=None, filename="", stage="expired")  # and voiceprints
            .returning(jobs.c.id)
        )

    def mark_enqueued(self, job_ids: list[str]) -> None:
        """Record that the jobs' messages were handed to the broker (cluster mode)."""
        if job_ids:
            self._rowcount(update(jobs).where(jobs.c.id.in_(job_ids)).values(enqueued_at=time.time()))

    def unsent(self, enqueued_before: float, limit: int) -> list[str]:
        """Queued jobs, oldest first, whose message was never sent or was sent before *enqueued_before*."""
        return self._ids(
            select(jobs.c.id)
            .where(
                jobs.c.status == QUEUED,
                or_(jobs.c.enqueued_at.is_(None), jobs.c.enqueued_at < enqueued_before),
            )
            .order_by(jobs.c.created_at, self._tiebreak)
            .limit(limit)
        )


class SQLiteJobStore(SqlJobStore):
    """The one-box store: a SQLite file (WAL), shared by the API worker processes."""

    def __init__(self, path: Path) -> None:
        super().__init__(sqlite_url(path))
