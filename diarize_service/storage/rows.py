"""Job records to table rows and back (the one place that knows both shapes)."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy.engine import Row

from ..jobs.models import Job, JobOptions, JobStatus


def row_to_job(row: Row) -> Job:
    m = row._mapping
    return Job(
        id=m["id"],
        status=JobStatus(m["status"]),
        created_at=m["created_at"],
        options=JobOptions.model_validate_json(m["options"]),
        filename=m["filename"],
        audio_path=m["audio_path"],
        progress=m["progress"],
        stage=m["stage"],
        started_at=m["started_at"],
        finished_at=m["finished_at"],
        heartbeat_at=m["heartbeat_at"],
        attempts=m["attempts"],
        error=m["error"],
        result=json.loads(m["result"]) if m["result"] else None,
        owner=m["owner"],
        idempotency_key=m["idempotency_key"],
        upload_sha256=m["upload_sha256"],
        callback_url=m["callback_url"],
        batch_id=m["batch_id"],
        worker=m["worker"],
    )


def job_values(job: Job) -> dict[str, Any]:
    return {
        "id": job.id,
        "status": job.status.value,
        "created_at": job.created_at,
        "options": job.options.model_dump_json(),
        "filename": job.filename,
        "audio_path": job.audio_path,
        "owner": job.owner,
        "idempotency_key": job.idempotency_key,
        "upload_sha256": job.upload_sha256,
        "callback_url": job.callback_url,
        "batch_id": job.batch_id,
    }
