"""Response schemas (they document the API in /docs and the OpenAPI file)."""

from __future__ import annotations

from typing import ClassVar

from pydantic import BaseModel, Field, SerializerFunctionWrapHandler, model_serializer

from ..jobs.models import JobOptions, JobStatus


class JobAccepted(BaseModel):
    job_id: str
    status: JobStatus = JobStatus.QUEUED


class WordOut(BaseModel):
    start: float
    end: float
    word: str
    probability: float
    speaker: str


class SegmentOut(BaseModel):
    start: float = Field(description="First word's start, seconds.")
    end: float = Field(description="Last word's end, seconds.")
    speaker: str = Field(description="Speaker_01, Speaker_02... in order of first appearance.")
    text: str
    words: list[WordOut]


class _OmitsUnset(BaseModel):
    """Issue #23: optional fields a result only has sometimes are left out when null, not sent as null.

    ``/status`` then shows a result exactly as ``/jobs/{job_id}/result`` does.
    """

    OMIT_IF_NULL: ClassVar[tuple[str, ...]] = ()

    @model_serializer(mode="wrap")
    def _drop_nulls(self, handler: SerializerFunctionWrapHandler):  # no return type: keeps the schema
        data = handler(self)
        for name in self.OMIT_IF_NULL:
            if data.get(name) is None:
                data.pop(name, None)
        return data


class SpeakerStats(_OmitsUnset):
    OMIT_IF_NULL = ("role",)
    total_duration: float = Field(description="Seconds of this speaker's segments.")
    percentage: float = Field(description="Share of all speakers' talk time, percent.")
    segment_count: int
    word_count: int
    role: str | None = Field(
        None,
        description="Issue #23, speakers named after an enrolled voice: in a mixed call the role the voice "
        "was enrolled with (e.g. 'agent'), in a split call the channel's label (e.g. 'Agent'); else absent.",
    )


class SpeakerTurnOut(BaseModel):
    start: float
    end: float
    speaker: str


class SpeakerAnalytics(BaseModel):
    talk_time: float = Field(description="Seconds this speaker talks (diarizer timeline).")
    talk_to_listen_ratio: float | None = Field(description="Own talk time / everyone else's.")
    words_per_minute: float
    longest_monologue: float = Field(description="Longest stretch of talk, pauses < 1.5 s bridged.")


class Interruption(BaseModel):
    time: float
    interrupter: str
    interrupted: str


class Silence(BaseModel):
    start: float
    end: float
    duration: float


class CallAnalytics(BaseModel):
    speakers: dict[str, SpeakerAnalytics]
    overlap_time: float = Field(description="Seconds with two or more people talking.")
    interruptions: list[Interruption]
    interruption_count: int
    dead_air: list[Silence] = Field(description="Silences of 3 s or more.")
    dead_air_total: float
    time_to_first_response: float | None = Field(
        description="Seconds between the end of the opener's first turn and the other party's first turn."
    )


class IdentifiedVoice(BaseModel):
    speaker_id: str
    similarity: float = Field(
        description="Cosine similarity of the call speaker's voiceprint to the enrolled one."
    )


class LanguageOut(BaseModel):
    """A channel's language (issue #22)."""

    language: str = Field(description="Whisper code the channel was transcribed in, e.g. 'en', 'af'.")
    probability: float = Field(description="The evidence's probability for it, over LANGUAGES.")


class DiarizationResult(_OmitsUnset):
    OMIT_IF_NULL = ("identified",)
    transcript: str = Field(description="One line per segment: 'Speaker_01 [0.00s - 5.23s]: text'.")
    speakers: dict[str, SpeakerStats]
    segments: list[SegmentOut]
    total_speakers: int
    audio_duration: float
    processing_time: float
    language: str
    language_probability: float
    languages: dict[str, LanguageOut] = Field(
        default_factory=dict,
        description="Per channel name in split mode, or 'mixed': the language transcribed, its probability.",
    )
    channel_mode: str = Field(description="'split' (speaker = channel) or 'mixed' (voice diarization).")
    models: dict[str, str]
    diarization: list[SpeakerTurnOut] = Field(
        description="Raw speaker turns from the diarizer (may overlap), same speaker names."
    )
    analytics: CallAnalytics
    timings: dict[str, float] = Field(description="Seconds per pipeline stage.")
    identified: dict[str, IdentifiedVoice] | None = Field(
        None,
        description="Issue #23: enrolled voices named in this call, by name (absent: none enrolled, or off).",
    )


class JobSummary(BaseModel):
    job_id: str
    status: JobStatus
    progress: float
    stage: str | None = None
    filename: str
    created_at: float
    finished_at: float | None = None
    error: str | None = None


class JobStatusOut(JobSummary):
    progress: float = Field(ge=0, le=1)
    options: JobOptions
    started_at: float | None = None
    attempts: int
    result: DiarizationResult | None = None


class JobList(BaseModel):
    jobs: list[JobSummary]
    total: int
    limit: int
    offset: int


class HealthOut(BaseModel):
    status: str = Field(description="'ok' when models are loaded and jobs can run, else 'starting'.")
    mode: str = Field("embedded", description="SERVICE_MODE: 'embedded' or 'cluster'.")
    models_loaded: bool
    device: str
    models: dict[str, str]
    queue_depth: int
    jobs_running: int
    max_concurrent_jobs: int


# --- issue #23: enrolled voices (POST/GET/DELETE /speakers, GET /speakers/{id}/stats)
class VoiceOut(BaseModel):
    speaker_id: str
    name: str
    role: str | None = None
    created_at: float
    source_job_id: str | None = Field(None, description="The job it was enrolled from, if any.")
    speech_seconds: float = Field(description="Seconds of the voice's speech the voiceprint was pooled from.")


class VoiceList(BaseModel):
    speakers: list[VoiceOut]


class VoiceStatsOut(BaseModel):
    speaker_id: str
    name: str
    calls: int = Field(description="Finished jobs, with results still kept, that named this voice.")
    talk_time: float = Field(description="Seconds this voice talked in those calls.")
    listen_time: float = Field(description="Seconds the others talked in those calls.")
    talk_to_listen_ratio: float | None
    interruptions_made: int
    interruptions_suffered: int
    longest_monologue: float = Field(description="Longest stretch of talk in any of those calls, seconds.")
    job_ids: list[str] = Field(description="Those jobs, newest first.")


# --- end issue #23
