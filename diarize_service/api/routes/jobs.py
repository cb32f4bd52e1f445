"""Job submission and status: ``POST /diarize``, ``GET /status/{job_id}``."""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from pathlib import Path
from typing import Annotated, BinaryIO, Literal

from fastapi import APIRouter, Depends, File, Form, Header, Query, Request, Response, UploadFile
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError

from ... import metrics
from ...jobs.models import Job, JobOptions, JobStatus
from ...jobs.webhooks import CallbackURLError, check_callback_url
from ...pipeline.audio import AudioError, probe
from ...pipeline.output.formats import EXPORTERS, MEDIA_TYPES
from ...storage.audio_store import UploadTooLargeError
from ..auth import ClientDep
from ..deps import AudioDep, RunnerDep, ServicesDep, SettingsDep, StoreDep
from ..errors import ProblemError
from ..schemas import JobAccepted, JobList, JobStatusOut, JobSummary

router = APIRouter(tags=["jobs"])

_PROBLEM = {"content": {"application/problem+json": {}}}


def _options(**fields) -> JobOptions:
    try:
        return JobOptions(**fields)
    except ValidationError as exc:
        detail = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'options'}: {e['msg']}" for e in exc.errors()
        )
        raise ProblemError(422, "Invalid job options", detail) from exc


async def job_options_form(
    num_speakers: Annotated[int | None, Form()] = None,
    min_speakers: Annotated[int | None, Form()] = None,
    max_speakers: Annotated[int | None, Form()] = None,
    language: Annotated[str | None, Form(description="e.g. 'en', 'af'; omit to detect")] = None,
    initial_prompt: Annotated[str | None, Form(description="Context/vocabulary for ASR")] = None,
    hotwords: Annotated[str | None, Form(description="Words to bias ASR towards, e.g. product names")] = None,
    channel_mode: Annotated[
        Literal["auto", "mixed", "split"], Form(description="Stereo: one party per channel?")
    ] = "auto",
    channel_names: Annotated[
        str | None, Form(description="Left,right speaker names in split mode (default Agent,Customer)")
    ] = None,
    redact_pii: Annotated[bool, Form(description="Redact ID, card, phone numbers and e-mails")] = False,
    identify_speakers: Annotated[
        bool, Form(description="Name speakers whose voice is enrolled (POST /speakers); default on")
    ] = True,  # issue #23
) -> JobOptions:
    """The per-job options, shared by /diarize and /batch-diarize."""
    return _options(
        num_speakers=num_speakers,
        min_speakers=min_speakers,
        max_speakers=max_speakers,
        language=language,
        initial_prompt=initial_prompt or None,
        hotwords=hotwords or None,
        redact_pii=redact_pii,
        identify_speakers=identify_speakers,  # issue #23
        channel_mode=channel_mode,
        **({"channel_names": tuple(channel_names.split(",", 1))} if channel_names else {}),
    )


async def callback_form(
    settings: SettingsDep,
    callback_url: Annotated[
        str | None, Form(max_length=2000, description="POSTed (signed) when the job finishes")
    ] = None,
) -> str | None:
    if callback_url:
        try:
            await asyncio.to_thread(check_callback_url, callback_url, settings.allow_private_callbacks)
        except CallbackURLError as exc:
            raise ProblemError(422, "Invalid callback_url", str(exc)) from exc
    return callback_url or None


OptionsDep = Annotated[JobOptions, Depends(job_options_form)]
CallbackDep = Annotated[str | None, Depends(callback_form)]


def check_capacity(settings, store, jobs: int = 1) -> None:
    """503 when the queue cannot take *jobs* more (body size is limited by BodySizeLimitMiddleware)."""
    if store.count(JobStatus.QUEUED) + jobs > settings.max_queue_size:
        raise ProblemError(
            503, "Queue full", "Too many jobs are waiting; retry later.", headers={"Retry-After": "30"}
        )


def store_upload(audio, settings, job_id: str, source: BinaryIO) -> tuple[Path, str]:
    """Store and probe one upload (blocking); on any problem nothing is left on disk.

    Only headers are read here (:func:`probe`); the audio is decoded later, in
    the decoder process.  A declared length over the limit is refused now,
    unless the file is too small to hold it (the probe then ignores it).
    """
    try:
        path, sha256 = audio.save(job_id, source, settings.max_upload_bytes)
        info = probe(path)
        if info.duration is not None and info.duration > settings.max_audio_seconds:
            raise ProblemError(
                422,
                "Audio too long",
                f"The recording lasts {info.duration:.0f} s; "
                f"the limit is {settings.max_audio_seconds:.0f} s.",
            )
    except UploadTooLargeError as exc:
        raise ProblemError(413, "Upload too large", str(exc)) from exc
    except AudioError as exc:
        audio.delete(job_id)
        raise ProblemError(exc.status_code, exc.title, str(exc)) from exc
    except BaseException:
        audio.delete(job_id)
        raise
    return path, sha256


async def save_upload(audio, settings, job_id: str, source: BinaryIO) -> tuple[Path, str]:
    """:func:`store_upload` off the event loop."""
    return await asyncio.to_thread(store_upload, audio, settings, job_id, source)


def upload_digest(audio, settings, source: BinaryIO) -> str:
    """SHA-256 of an upload resent with a known Idempotency-Key (stored briefly, then removed)."""
    scratch = uuid.uuid4().hex
    try:
        _, sha256 = audio.save(scratch, source, settings.max_upload_bytes)
    except UploadTooLargeError as exc:
        raise ProblemError(413, "Upload too large", str(exc)) from exc
    finally:
        audio.delete(scratch)
    return sha256


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def clean_filename(filename: str | None) -> str:
    """The client's file name without control characters (they would reach logs and headers)."""
    return _CONTROL.sub("_", filename or "upload")[:255] or "upload"


def new_job(job_id: str, options: JobOptions, filename: str | None, path: Path | str, **fields) -> Job:
    return Job(
        id=job_id,
        status=JobStatus.QUEUED,
        created_at=time.time(),
        options=options,
        filename=clean_filename(filename),
        audio_path=str(path),
        **fields,
    )


@router.post(
    "/diarize",
    status_code=202,
    response_model=JobAccepted,
    responses={
        413: {"description": "Upload larger than MAX_UPLOAD_MB", **_PROBLEM},
        415: {"description": "Not a readable audio format", **_PROBLEM},
        422: {"description": "Empty/silent/too long audio or invalid options", **_PROBLEM},
        503: {"description": "Queue full; retry after Retry-After seconds", **_PROBLEM},
    },
)
async def submit_diarization(
    request: Request,
    client: ClientDep,
    services: ServicesDep,
    options: OptionsDep,
    callback_url: CallbackDep,
    audio_file: Annotated[UploadFile, File(description="MP3, WAV, M4A, FLAC... mono or stereo, any rate.")],
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
) -> JobAccepted:
    """Queue a recording for transcription + diarization; poll ``/status/{job_id}``.

    With an ``Idempotency-Key`` header, resending the same file with the same
    key returns the original job instead of creating another.
    """
    settings, store, audio, runner = services.settings, services.store, services.audio, services.runner
    check_capacity(settings, store)  # again: the gate checked before the body arrived
    job_id = uuid.uuid4().hex
    if idempotency_key and (previous := store.find_idempotent(client, idempotency_key)):
        sha256 = await asyncio.to_thread(upload_digest, audio, settings, audio_file.file)
        return _replay(previous, sha256)
    path, sha256 = await save_upload(audio, settings, job_id, audio_file.file)
    address = await asyncio.to_thread(audio.publish, job_id, path)  # cluster: into the bucket
    job = new_job(
        job_id,
        options,
        audio_file.filename,
        address,
        owner=client,
        idempotency_key=idempotency_key,
        upload_sha256=sha256,
        callback_url=callback_url,
    )
    try:
        store.add(job)
    except IntegrityError:  # the same key raced in concurrently (any replica): answer with that job
        audio.delete(job_id)
        previous = store.find_idempotent(client, idempotency_key or "")
        if previous is None:
            raise
        return _replay(previous, sha256)
    metrics.JOBS_SUBMITTED.inc()
    runner.submitted([job_id])
    return JobAccepted(job_id=job_id)


def _replay(previous: Job, sha256: str) -> JobAccepted:
    if previous.upload_sha256 != sha256:
        raise ProblemError(
            422, "Idempotency-Key reused", "This Idempotency-Key was already used for a different file."
        )
    return JobAccepted(job_id=previous.id, status=previous.status)


def _load(store, job_id: str, client: str | None) -> Job:
    job = store.get(job_id)
    if job is None or (client is not None and job.owner != client):
        raise ProblemError(404, "Job not found", f"No job with id '{job_id}'.")
    if job.stage == "expired":
        raise ProblemError(
            410, "Result expired", f"The result of job '{job_id}' was erased after RESULT_TTL."
        )
    return job


def summarize(job: Job) -> JobSummary:
    return JobSummary(
        job_id=job.id,
        status=job.status,
        progress=round(job.progress, 3),
        stage=job.stage,
        filename=job.filename,
        created_at=job.created_at,
        finished_at=job.finished_at,
        error=job.error,
    )


def _status(job: Job) -> JobStatusOut:
    return JobStatusOut(
        **summarize(job).model_dump(),
        options=job.options,
        started_at=job.started_at,
        attempts=job.attempts,
        result=job.result,
    )


_ONE_JOB = {
    404: {"description": "No such job", **_PROBLEM},
    410: {"description": "Result expired", **_PROBLEM},
}


@router.get("/status/{job_id}", response_model=JobStatusOut, responses=_ONE_JOB)
async def job_status(job_id: str, store: StoreDep, client: ClientDep) -> JobStatusOut:
    """Status, progress (0..1) and, once completed, the result."""
    return _status(_load(store, job_id, client))


@router.get("/jobs/{job_id}", response_model=JobStatusOut, responses=_ONE_JOB)
async def get_job(job_id: str, store: StoreDep, client: ClientDep) -> JobStatusOut:
    """The job resource (same body as ``/status/{job_id}``)."""
    return _status(_load(store, job_id, client))


@router.get("/jobs", response_model=JobList)
async def list_jobs(
    store: StoreDep,
    client: ClientDep,
    status: JobStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    offset: Annotated[int, Query(ge=0, le=2**62)] = 0,
) -> JobList:
    """Jobs, newest first, optionally filtered by status (results not included)."""
    jobs, total = store.list(status, limit, offset, owner=client)
    return JobList(jobs=[summarize(j) for j in jobs], total=total, limit=limit, offset=offset)


@router.get(
    "/jobs/{job_id}/result",
    responses={
        200: {"content": {t: {} for t in MEDIA_TYPES.values()}, "description": "The result in that format"},
        409: {"description": "Job not completed", **_PROBLEM},
        **_ONE_JOB,
    },
)
async def job_result(
    job_id: str,
    store: StoreDep,
    client: ClientDep,
    format: Literal["json", "txt", "srt", "vtt", "rttm"] = "json",
) -> Response:
    """The completed result as JSON, plain text, SRT/WebVTT subtitles or RTTM."""
    job = _load(store, job_id, client)
    if job.status is not JobStatus.COMPLETED or job.result is None:
        raise ProblemError(409, "Job not completed", f"Job '{job_id}' is {job.status.value}; no result yet.")
    if format == "json":
        return JSONResponse(job.result)
    stem = re.sub(r"[^A-Za-z0-9._-]", "_", job.filename.rsplit(".", 1)[0])[:100] or "call"
    return Response(
        EXPORTERS[format](job.result),
        media_type=MEDIA_TYPES[format],
        headers={"Content-Disposition": f'attachment; filename="{stem}.{format}"'},
    )


@router.delete("/jobs/{job_id}", status_code=204, responses={404: {"description": "No such job", **_PROBLEM}})
async def delete_job(
    job_id: str, store: StoreDep, audio: AudioDep, runner: RunnerDep, client: ClientDep
) -> Response:
    """Cancel the job if it is running, then erase its audio, result and record (POPIA)."""
    job = store.get(job_id)
    if job is None or (client is not None and job.owner != client):
        raise ProblemError(404, "Job not found", f"No job with id '{job_id}'.")
    await runner.cancel(job_id)
    audio.delete(job_id)
    store.delete(job_id)
    return Response(status_code=204)
