"""Batches: many calls in one request (several files or one zip), one aggregate status.

Each file becomes an ordinary job (same options, same limits); the batch is
just the set of jobs sharing a ``batch_id``.  Files that fail validation are
reported per file and do not sink the batch.  Zip archives are read member by
member with the same per-file size limit (no zip bombs, no paths on disk).
"""

from __future__ import annotations

import io
import uuid
import zipfile
from typing import Annotated

from fastapi import APIRouter, File, Request, UploadFile
from pydantic import BaseModel

from ... import metrics
from ...jobs.models import JobStatus
from ..auth import ClientDep
from ..deps import ServicesDep, StoreDep
from ..errors import ProblemError
from ..schemas import JobSummary
from .jobs import _PROBLEM, CallbackDep, OptionsDep, check_capacity, new_job, save_upload, summarize

router = APIRouter(tags=["batches"])
MAX_FILES = 100  # audio files per batch (zip members included)
MAX_BATCH_UPLOADS = 10  # request body limit: this many times MAX_UPLOAD_MB


class BatchFileOut(BaseModel):
    filename: str
    job_id: str | None = None
    error: str | None = None
    error_status: int | None = None


class BatchAccepted(BaseModel):
    batch_id: str
    files: list[BatchFileOut]


class BatchStatus(BaseModel):
    batch_id: str
    status: str  # queued | processing | completed | failed | partial (some failed)
    progress: float
    counts: dict[str, int]
    jobs: list[JobSummary]


def _members(upload: UploadFile, limit: int):
    """(name, file object) for a plain upload, or for every member of a zip archive."""
    if not zipfile.is_zipfile(upload.file):
        upload.file.seek(0)
        yield upload.filename or "upload", upload.file
        return
    upload.file.seek(0)
    with zipfile.ZipFile(upload.file) as archive:
        for info in archive.infolist():
            name = info.filename.rsplit("/", 1)[-1]
            if info.is_dir() or not name or name.startswith("."):
                continue
            if info.file_size > limit:
                yield name, None
                continue
            with archive.open(info) as member:
                yield name, io.BytesIO(member.read(limit + 1))


@router.post(
    "/batch-diarize",
    status_code=202,
    response_model=BatchAccepted,
    responses={422: {"description": "No file in the batch was acceptable", **_PROBLEM}},
)
async def submit_batch(
    request: Request,
    client: ClientDep,
    services: ServicesDep,
    options: OptionsDep,
    callback_url: CallbackDep,
    audio_files: Annotated[list[UploadFile], File(description="Audio files and/or zip archives of them")],
) -> BatchAccepted:
    """Queue several calls at once; poll ``/batches/{batch_id}``."""
    settings, store, audio, runner = services.settings, services.store, services.audio, services.runner
    services.rate_limiter.check(client)
    check_capacity(settings, store, jobs=len(audio_files))
    batch_id = uuid.uuid4().hex
    files: list[BatchFileOut] = []
    for upload in audio_files:
        try:
            members = list(_members(upload, settings.max_upload_bytes))
        except zipfile.BadZipFile:
            files.append(
                BatchFileOut(
                    filename=upload.filename or "upload", error="Corrupt zip archive.", error_status=422
                )
            )
            continue
        for name, source in members:
            if len(files) >= MAX_FILES:
                raise ProblemError(413, "Batch too large", f"At most {MAX_FILES} files per batch.")
            if source is None:
                files.append(
                    BatchFileOut(filename=name, error="File exceeds MAX_UPLOAD_MB.", error_status=413)
                )
                continue
            job_id = uuid.uuid4().hex
            try:
                path, sha256 = await save_upload(audio, settings, job_id, source)
            except ProblemError as exc:
                files.append(BatchFileOut(filename=name, error=exc.detail, error_status=exc.status))
                continue
            store.add(
                new_job(
                    job_id,
                    options,
                    name,
                    path,
                    owner=client,
                    upload_sha256=sha256,
                    callback_url=callback_url,
                    batch_id=batch_id,
                )
            )
            metrics.JOBS_SUBMITTED.inc()
            files.append(BatchFileOut(filename=name, job_id=job_id))
    if not any(f.job_id for f in files):
        raise ProblemError(
            422,
            "No acceptable file",
            "None of the uploaded files could be queued.",
            files=[f.model_dump() for f in files],
        )
    runner.notify()
    return BatchAccepted(batch_id=batch_id, files=files)


@router.get(
    "/batches/{batch_id}",
    response_model=BatchStatus,
    responses={404: {"description": "No such batch", **_PROBLEM}},
)
async def batch_status(batch_id: str, store: StoreDep, client: ClientDep) -> BatchStatus:
    """Aggregate status of a batch, with each job's summary (results via /jobs/{id}/result)."""
    jobs = store.batch(batch_id, client)
    if not jobs:
        raise ProblemError(404, "Batch not found", f"No batch with id '{batch_id}'.")
    counts = {s.value: sum(j.status is s for j in jobs) for s in JobStatus}
    if counts["completed"] == len(jobs):
        status = "completed"
    elif counts["failed"] == len(jobs):
        status = "failed"
    elif counts["completed"] + counts["failed"] == len(jobs):
        status = "partial"
    elif counts["queued"] == len(jobs):
        status = "queued"
    else:
        status = "processing"
    return BatchStatus(
        batch_id=batch_id,
        status=status,
        progress=round(sum(1.0 if j.status.finished else j.progress for j in jobs) / len(jobs), 3),
        counts=counts,
        jobs=[summarize(j) for j in jobs],
    )
