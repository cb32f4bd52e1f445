"""Job records: what the job store persists and the API reports."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from ..pipeline.options import JobOptions


class JobStatus(StrEnum):
    QUEUED = "queued"
    """Accepted and stored; waiting for a free slot."""
    PROCESSING = "processing"
    """Claimed by a runner, which heartbeats while it works."""
    COMPLETED = "completed"
    """Finished; ``result`` holds the transcript and statistics."""
    FAILED = "failed"
    """Finished without a result; ``error`` says why."""

    @property
    def finished(self) -> bool:
        return self in (JobStatus.COMPLETED, JobStatus.FAILED)


@dataclass
class Job:
    id: str
    status: JobStatus
    created_at: float
    options: JobOptions
    filename: str
    audio_path: str | None
    progress: float = 0.0
    stage: str | None = None
    started_at: float | None = None
    finished_at: float | None = None
    heartbeat_at: float | None = None
    attempts: int = 0
    error: str | None = None
    result: dict[str, Any] | None = field(default=None, repr=False)
    owner: str | None = None  # API-key id that submitted the job (None when auth is off)
    idempotency_key: str | None = None
    upload_sha256: str | None = None
    callback_url: str | None = None
    batch_id: str | None = None
    worker: str | None = None  # cluster mode: the worker holding the job's lease
