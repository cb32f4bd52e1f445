"""Enrolled voices (issue #23): ``POST/GET /speakers``, ``DELETE /speakers/{id}``, ``GET .../stats``,
``POST /speakers/{id}/samples``.

A voice is enrolled from a speaker of a finished job (``job_id`` +
``speaker``: the print the job kept, so this works after the call's audio
is gone) or from an uploaded recording of that one voice.  Every later job
of the same API key names the speakers that sound like it
(:mod:`...jobs.identification`).

Voiceprints are biometric personal information under POPIA: only the
embedding is stored, never audio (an upload is deleted as soon as it is
embedded, whatever happens); each voice belongs to the key that enrolled it
and is invisible to others (404, as for jobs); ``DELETE`` erases it at once.

File enrolment needs the models.  In cluster mode (``SERVICE_MODE=cluster``)
the API replicas have none and the workers only take queued jobs, so it
answers 501 and points to enrolment from a job, which works in both modes:
process one call of the voice, then enrol its speaker.  Queuing enrolments
as a job kind of their own would add a second task type to the queue, the
workers and the sweeper for what one ordinary job already gives.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, File, Form, Response, UploadFile
from sqlalchemy.exc import IntegrityError

from ...jobs.models import JobStatus
from ...pipeline.audio import AudioError, probe
from ...pipeline.diarization.voiceprints import Voiceprint
from ...pipeline.output.voice_stats import voice_statistics
from ...pipeline.stage_process import StageCrashedError
from ...storage.audio_store import UploadTooLargeError
from ...storage.voice_store import SampleAlreadyPooledError, VoiceRecord, VoiceStore
from ..auth import ClientDep
from ..deps import ServicesDep
from ..errors import ProblemError
from ..schemas import VoiceList, VoiceOut, VoiceStatsOut

router = APIRouter(tags=["speakers"])

_PROBLEM = {"content": {"application/problem+json": {}}}
MIN_ENROL_SECONDS = 5.0  # a print pooled from less speech than this is too noisy to name anyone by
ENROL_MAX_SECONDS = 600.0  # a recording of one voice needs seconds to minutes, not hours
_GENERATED = re.compile(r"speaker_\d+", re.IGNORECASE)
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def _voices(services) -> VoiceStore:
    voices = VoiceStore.beside(services.store)
    if voices is None:  # pragma: no cover - every real store is a database
        raise ProblemError(501, "Not available", "This job store cannot hold enrolled voices.")
    return voices


def _out(record: VoiceRecord) -> VoiceOut:
    return VoiceOut(
        speaker_id=record.id,
        name=record.name,
        role=record.role,
        created_at=record.created_at,
        source_job_id=record.source_job_id,
        speech_seconds=round(record.voiceprint.seconds, 2),
    )


def _clean_name(name: str) -> str:
    """A name that can replace a speaker label: printable, 1-40 characters, not a generated label."""
    name = name.strip()
    if not name or len(name) > 40 or _CONTROL.search(name) or _GENERATED.fullmatch(name):
        raise ProblemError(
            422, "Invalid name", "name must be 1-40 printable characters and not a label like Speaker_01."
        )
    return name


def _from_job(services, client: str | None, job_id: str, speaker: str) -> Voiceprint:
    job = services.store.get(job_id)
    if job is None or (client is not None and job.owner != client):
        raise ProblemError(404, "Job not found", f"No job with id '{job_id}'.")
    if job.stage == "expired":
        raise ProblemError(
            410, "Result expired", f"The result of job '{job_id}' and its voiceprints were erased."
        )
    if job.status is not JobStatus.COMPLETED:
        raise ProblemError(409, "Job not completed", f"Job '{job_id}' is {job.status.value}.")
    prints = _voices(services).job_voiceprints(job_id)
    if speaker not in prints:
        known = ", ".join(sorted(prints)) or "none"
        raise ProblemError(
            422, "Unknown speaker", f"Job '{job_id}' has no voiceprint for '{speaker}' (it has: {known})."
        )
    return prints[speaker]


async def _from_file(services, client: str | None, upload: UploadFile) -> Voiceprint:
    if services.embed_voice is None:
        raise ProblemError(
            501,
            "File enrolment needs the models",
            "In cluster mode the API has no models: process a call of this voice with POST /diarize, "
            "then enrol its speaker with job_id and speaker.",
        )
    services.rate_limiter.check(client)  # it runs the models, like a submission
    settings, audio = services.settings, services.audio
    scratch = f"voice-{uuid.uuid4().hex}"
    try:
        path, _ = await asyncio.to_thread(audio.save, scratch, upload.file, settings.max_upload_bytes)
        info = await asyncio.to_thread(probe, path)
        if info.duration is not None and info.duration > ENROL_MAX_SECONDS:
            raise ProblemError(
                422, "Audio too long", f"An enrolment recording may last {ENROL_MAX_SECONDS:.0f} s at most."
            )
        found = await services.embed_voice(path, audio.decoded_path(scratch), ENROL_MAX_SECONDS)
    except UploadTooLargeError as exc:
        raise ProblemError(413, "Upload too large", str(exc)) from exc
    except AudioError as exc:
        raise ProblemError(exc.status_code, exc.title, str(exc)) from exc
    except StageCrashedError as exc:
        raise ProblemError(503, "Model worker restarted", str(exc), headers={"Retry-After": "10"}) from exc
    finally:
        await asyncio.to_thread(audio.delete, scratch)  # the voice's audio is never kept
    if found is None:
        raise ProblemError(422, "No voice found", "The recording holds no speech to take a voiceprint from.")
    return found


@router.post(
    "/speakers",
    status_code=201,
    response_model=VoiceOut,
    responses={
        404: {"description": "No such job", **_PROBLEM},
        409: {"description": "Name taken, or the job is not completed", **_PROBLEM},
        410: {"description": "The job's result expired", **_PROBLEM},
        413: {"description": "Upload larger than MAX_UPLOAD_MB", **_PROBLEM},
        415: {"description": "Not a readable audio format", **_PROBLEM},
        422: {"description": "Invalid fields, unknown speaker, too little speech", **_PROBLEM},
        501: {"description": "File enrolment in cluster mode", **_PROBLEM},
    },
)
async def enrol_speaker(
    services: ServicesDep,
    client: ClientDep,
    name: Annotated[str, Form(description="The name that replaces the speaker's label, e.g. 'Thandi'.")],
    role: Annotated[
        Literal["agent", "supervisor", "customer"] | None,
        Form(description="Given to the speaker this voice names in mixed calls, e.g. 'agent'."),
    ] = None,
    audio_file: Annotated[UploadFile | None, File(description="A recording of this one voice.")] = None,
    job_id: Annotated[str | None, Form(max_length=64, description="A completed job of this key.")] = None,
    speaker: Annotated[str | None, Form(max_length=80, description="The speaker label in that job.")] = None,
) -> VoiceOut:
    """Enrol a voice, from a speaker of a finished job or from a recording; returns its ``speaker_id``."""
    name = _clean_name(name)
    voiceprint = await _requested_print(services, client, audio_file, job_id, speaker)
    try:
        record = _voices(services).add(client, name, role, voiceprint, source_job_id=job_id)
    except IntegrityError as exc:
        raise ProblemError(409, "Name taken", f"A voice named '{name}' is already enrolled.") from exc
    return _out(record)


@router.post(
    "/speakers/{speaker_id}/samples",
    response_model=VoiceOut,
    responses={
        404: {"description": "No such voice or job", **_PROBLEM},
        409: {"description": "The job is not completed, or the voice already holds this sample", **_PROBLEM},
        410: {"description": "The job's result expired", **_PROBLEM},
        413: {"description": "Upload larger than MAX_UPLOAD_MB", **_PROBLEM},
        415: {"description": "Not a readable audio format", **_PROBLEM},
        422: {"description": "Invalid fields, unknown speaker, too little speech", **_PROBLEM},
        501: {"description": "File samples in cluster mode", **_PROBLEM},
    },
)
async def add_voice_sample(
    speaker_id: str,
    services: ServicesDep,
    client: ClientDep,
    audio_file: Annotated[UploadFile | None, File(description="A recording of this one voice.")] = None,
    job_id: Annotated[str | None, Form(max_length=64, description="A completed job of this key.")] = None,
    speaker: Annotated[str | None, Form(max_length=80, description="The speaker label in that job.")] = None,
) -> VoiceOut:
    """Pool one more sample of an enrolled voice (another call, another line) into its voiceprint.

    A voice heard on several calls is named more reliably than from one: see
    docs/voices.md.  The same inputs as enrolment; only the embedding is kept.
    """
    _owned(services, client, speaker_id)  # 404 before any upload is read into a print
    voiceprint = await _requested_print(services, client, audio_file, job_id, speaker)
    try:
        record = _voices(services).add_sample(speaker_id, client, voiceprint)
    except SampleAlreadyPooledError as exc:
        raise ProblemError(
            409, "Sample already added", "This voice already holds that sample; its speech counts once."
        ) from exc
    if record is None:  # deleted meanwhile
        raise ProblemError(404, "Speaker not found", f"No enrolled voice with id '{speaker_id}'.")
    return _out(record)


async def _requested_print(
    services, client: str | None, audio_file: UploadFile | None, job_id: str | None, speaker: str | None
) -> Voiceprint:
    """The voiceprint a request names: a finished job's speaker, or an uploaded recording."""
    if (audio_file is None) == (job_id is None):
        raise ProblemError(422, "Invalid request", "Send either audio_file, or job_id and speaker.")
    if job_id is not None:
        if not speaker:
            raise ProblemError(422, "Invalid request", "job_id needs speaker: the label to enrol.")
        voiceprint = _from_job(services, client, job_id, speaker)
    else:
        assert audio_file is not None
        voiceprint = await _from_file(services, client, audio_file)
    if voiceprint.seconds < MIN_ENROL_SECONDS:
        raise ProblemError(
            422,
            "Too little speech",
            f"The voice speaks {voiceprint.seconds:.1f} s on its own there; enrolment needs "
            f"{MIN_ENROL_SECONDS:.0f} s.",
        )
    return voiceprint


@router.get("/speakers", response_model=VoiceList)
async def list_speakers(services: ServicesDep, client: ClientDep) -> VoiceList:
    """The voices enrolled under your API key (no voiceprints)."""
    return VoiceList(speakers=[_out(r) for r in _voices(services).list(client)])


def _owned(services, client: str | None, speaker_id: str) -> VoiceRecord:
    record = _voices(services).get(speaker_id, client)
    if record is None:
        raise ProblemError(404, "Speaker not found", f"No enrolled voice with id '{speaker_id}'.")
    return record


@router.delete(
    "/speakers/{speaker_id}", status_code=204, responses={404: {"description": "No such voice", **_PROBLEM}}
)
async def delete_speaker(speaker_id: str, services: ServicesDep, client: ClientDep) -> Response:
    """Erase the voiceprint (POPIA); no job processed after this names the voice."""
    if not _voices(services).delete(speaker_id, client):
        raise ProblemError(404, "Speaker not found", f"No enrolled voice with id '{speaker_id}'.")
    return Response(status_code=204)


@router.get(
    "/speakers/{speaker_id}/stats",
    response_model=VoiceStatsOut,
    responses={404: {"description": "No such voice", **_PROBLEM}},
)
async def speaker_stats(speaker_id: str, services: ServicesDep, client: ClientDep) -> VoiceStatsOut:
    """Talk time, talk-to-listen ratio, interruptions and longest monologue over the calls that named it."""
    record = _owned(services, client, speaker_id)
    found = await asyncio.to_thread(_voices(services).results_naming, speaker_id, client)
    stats = voice_statistics([result for _, result in found], speaker_id)
    return VoiceStatsOut(speaker_id=record.id, name=record.name, job_ids=[job for job, _ in found], **stats)
