"""Batches: many calls in one request (several files or zip archives), one aggregate status.

Each file becomes an ordinary job (same options, same limits); the batch is
just the set of jobs sharing a ``batch_id``.  Files that fail validation are
reported per file and do not sink the batch.

A batch is untrusted input of the bulkiest kind, so it is bounded before it
is trusted, and staged before anything is queued:

* the file count is checked first: a zip's entry count is read from its end
  record before its directory is parsed (a zip of a million empty members
  must not cost a million ``ZipInfo`` objects);
* members are streamed to disk one at a time, each under the per-file limit
  and all together under the request limit (no member is held in memory, so
  a zip bomb costs at most the limits' disk space);
* unreadable members (encrypted, unsupported compression, corrupt data) are
  per-file 422s, not a 500;
* all of this runs in a worker thread, never on the event loop;
* only when every file is staged and the queue has room for all of them are
  the jobs written, in one transaction: the batch is queued whole or not at
  all, and a refused batch leaves nothing on disk.
"""

from __future__ import annotations

import asyncio
import lzma
import uuid
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Annotated

from fastapi import APIRouter, File, Request, UploadFile
from pydantic import BaseModel

from ... import metrics
from ...config import Settings
from ...jobs.models import JobOptions, JobStatus
from ...storage.audio_store import AudioStore
from ..auth import ClientDep
from ..deps import ServicesDep, StoreDep
from ..errors import ProblemError
from ..schemas import JobSummary
from .jobs import _PROBLEM, CallbackDep, OptionsDep, check_capacity, new_job, store_upload, summarize

router = APIRouter(tags=["batches"])
MAX_FILES = 100  # audio files per batch (zip members included)
MAX_BATCH_UPLOADS = 10  # request body limit, and the batch's total unpacked size: this many MAX_UPLOAD_MB
MAX_ZIP_ENTRIES = 1000  # directory entries of one zip (folders and hidden files included)
_UNREADABLE_MEMBER = (
    RuntimeError,
    NotImplementedError,
    zipfile.BadZipFile,
    zlib.error,
    lzma.LZMAError,
    EOFError,
)


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


@dataclass
class _Staged:
    """One file of the batch: stored and probed (``path`` set), or refused (``error`` set)."""

    filename: str
    job_id: str | None = None
    path: Path | None = None
    address: str | None = None  # where workers find it (the path, or an s3:// address)
    sha256: str | None = None
    error: str | None = None
    error_status: int | None = None


def _too_many() -> ProblemError:
    return ProblemError(413, "Batch too large", f"At most {MAX_FILES} files per batch.")


def _zip_entry_count(source: IO[bytes]) -> int | None:
    """Entries a zip declares in its end record, read without parsing its directory."""
    try:
        end = zipfile._EndRecData(source)  # stable since Python 2; the public API parses everything
    except (OSError, AttributeError, ValueError):
        return None
    finally:
        source.seek(0)
    return None if end is None else int(end[zipfile._ECD_ENTRIES_TOTAL])


class _BatchStager:
    """Stores and probes a batch's files in one worker thread; undoes it all on failure."""

    def __init__(self, audio: AudioStore, settings: Settings) -> None:
        self.audio = audio
        self.settings = settings
        self.staged: list[_Staged] = []
        self.bytes_left = MAX_BATCH_UPLOADS * settings.max_upload_bytes

    def stage(self, uploads: list[tuple[str, IO[bytes]]]) -> list[_Staged]:
        try:
            for name, source in uploads:
                if zipfile.is_zipfile(source):
                    source.seek(0)
                    self._stage_zip(name, source)
                else:
                    source.seek(0)
                    self._stage_file(name, source)
            for staged in self.staged:  # cluster: accepted uploads go into the bucket, all or none
                if staged.job_id and staged.path:
                    staged.address = self.audio.publish(staged.job_id, staged.path)
        except BaseException:
            self.discard()
            raise
        return self.staged

    def discard(self) -> None:
        for staged in self.staged:
            if staged.job_id:
                self.audio.delete(staged.job_id)

    def _stage_zip(self, name: str, source: IO[bytes]) -> None:
        declared = _zip_entry_count(source)
        if declared is not None and declared > MAX_ZIP_ENTRIES:
            raise _too_many()
        try:
            archive = zipfile.ZipFile(source)
        except (zipfile.BadZipFile, *_UNREADABLE_MEMBER, ValueError):
            self.staged.append(_Staged(name, error="Corrupt zip archive.", error_status=422))
            return
        with archive:
            members = [
                info
                for info in archive.infolist()[:MAX_ZIP_ENTRIES]
                if not info.is_dir()
                and (base := info.filename.rsplit("/", 1)[-1])
                and not base.startswith(".")
            ]
            if len(self.staged) + len(members) > MAX_FILES:
                raise _too_many()
            for info in members:
                member_name = info.filename.rsplit("/", 1)[-1]
                if info.file_size > self.settings.max_upload_bytes:
                    self.staged.append(
                        _Staged(member_name, error="File exceeds MAX_UPLOAD_MB.", error_status=413)
                    )
                    continue
                try:
                    with archive.open(info) as member:
                        self._stage_file(member_name, member)
                except _UNREADABLE_MEMBER as exc:  # the store removed the partial file
                    reason = (
                        "encrypted" if "encrypted" in str(exc) or "password" in str(exc) else "unreadable"
                    )
                    self.staged.append(
                        _Staged(
                            member_name,
                            error=f"The zip member is {reason} ({type(exc).__name__}).",
                            error_status=422,
                        )
                    )

    def _stage_file(self, name: str, source: IO[bytes]) -> None:
        if len(self.staged) >= MAX_FILES:
            raise _too_many()
        job_id = uuid.uuid4().hex
        try:
            path, sha256 = store_upload(self.audio, self.settings, job_id, source)
        except ProblemError as exc:
            if exc.status >= 500:
                raise
            self.staged.append(_Staged(name, error=exc.detail, error_status=exc.status))
            return
        self.staged.append(_Staged(name, job_id=job_id, path=path, sha256=sha256))
        self.bytes_left -= path.stat().st_size
        if self.bytes_left < 0:
            raise ProblemError(
                413,
                "Batch too large",
                f"The batch unpacks to more than {MAX_BATCH_UPLOADS} x MAX_UPLOAD_MB.",
            )


@router.post(
    "/batch-diarize",
    status_code=202,
    response_model=BatchAccepted,
    responses={
        413: {"description": "More than 100 files, or larger than 10 x MAX_UPLOAD_MB", **_PROBLEM},
        422: {"description": "No file in the batch was acceptable", **_PROBLEM},
        503: {"description": "The queue cannot take the whole batch", **_PROBLEM},
    },
)
async def submit_batch(
    request: Request,
    client: ClientDep,
    services: ServicesDep,
    options: OptionsDep,
    callback_url: CallbackDep,
    audio_files: Annotated[list[UploadFile], File(description="Audio files and/or zip archives of them")],
) -> BatchAccepted:
    """Queue several calls at once; poll ``/batches/{batch_id}``.  The batch is queued whole or not at all."""
    settings, store, audio, runner = services.settings, services.store, services.audio, services.runner
    if len(audio_files) > MAX_FILES:
        raise _too_many()
    check_capacity(settings, store, jobs=len(audio_files))
    stager = _BatchStager(audio, settings)
    uploads = [(upload.filename or "upload", upload.file) for upload in audio_files]
    staged = await asyncio.to_thread(stager.stage, uploads)
    accepted = [s for s in staged if s.job_id]
    if not accepted:
        raise ProblemError(
            422,
            "No acceptable file",
            "None of the uploaded files could be queued.",
            files=[_out(s).model_dump() for s in staged],
        )
    batch_id = uuid.uuid4().hex
    try:
        check_capacity(settings, store, jobs=len(accepted))
        store.add_many([_job(s, options, client, callback_url, batch_id) for s in accepted])
    except BaseException:
        stager.discard()
        raise
    metrics.JOBS_SUBMITTED.inc(len(accepted))
    runner.submitted([s.job_id for s in accepted if s.job_id])
    return BatchAccepted(batch_id=batch_id, files=[_out(s) for s in staged])


def _job(staged: _Staged, options: JobOptions, client: str | None, callback_url: str | None, batch_id: str):
    assert staged.job_id and staged.address
    return new_job(
        staged.job_id,
        options,
        staged.filename,
        staged.address,
        owner=client,
        upload_sha256=staged.sha256,
        callback_url=callback_url,
        batch_id=batch_id,
    )


def _out(staged: _Staged) -> BatchFileOut:
    return BatchFileOut(
        filename=staged.filename, job_id=staged.job_id, error=staged.error, error_status=staged.error_status
    )


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
