"""Builders for the parts every process role assembles from settings (composition root).

The embedded API, a cluster API replica and a cluster worker put the same
parts together in different ways; building each part here keeps them
configured alike (one job store, one audio store, one webhook signer, one
runner policy) without a global to reach for.
"""

from __future__ import annotations

import os

from .config import Settings
from .jobs.runner import RunnerConfig
from .jobs.webhooks import WebhookConfig, WebhookSender, load_or_create_secret
from .models.registry import resolve_diarization, resolve_whisper
from .pipeline.language import LanguagePolicy
from .pipeline.workers import AsrConfig, DiarizationConfig, StageWorkers
from .storage.audio_store import AudioStore
from .storage.job_store import SqlJobStore
from .storage.object_store import S3Blobs


def make_store(settings: Settings) -> SqlJobStore:
    return SqlJobStore(settings.resolved_database_url)


def make_audio_store(settings: Settings) -> AudioStore:
    remote = None
    if settings.audio_storage == "s3":
        remote = S3Blobs(
            settings.s3_bucket,
            settings.s3_endpoint_url,
            settings.s3_access_key_id,
            settings.s3_secret_access_key,
            settings.s3_region,
        )
        remote.ensure_bucket()
    return AudioStore(settings.audio_dir, remote)


def make_webhooks(settings: Settings) -> WebhookSender:
    return WebhookSender(
        WebhookConfig(
            secret=load_or_create_secret(settings.webhook_secret, settings.data_dir),
            allow_private=settings.allow_private_callbacks,
            max_attempts=settings.webhook_max_attempts,
            initial_delay=settings.webhook_initial_delay_seconds,
        )
    )


def runner_config(settings: Settings) -> RunnerConfig:
    return RunnerConfig(
        max_concurrent_jobs=settings.max_concurrent_jobs,
        heartbeat_seconds=settings.heartbeat_seconds,
        job_timeout_seconds=settings.job_timeout_seconds,
        max_attempts=settings.max_attempts,
        keep_audio=settings.keep_audio,
        keep_playback_copy=settings.keep_playback_copy,  # issue #21
        result_ttl_seconds=settings.result_ttl_seconds,
        lease_seconds=settings.lease_seconds,
        voice_match_threshold=settings.voice_match_threshold,  # issue #23
    )


def build_workers(settings: Settings) -> StageWorkers:
    """Resolve models (cheap, in this process) and describe the worker processes."""
    if not settings.allow_model_download:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
    whisper = resolve_whisper(settings.whisper_model, settings.model_cache_dir, settings.allow_model_download)
    diarization = resolve_diarization(
        settings.diarization_model, settings.huggingface_token, settings.allow_model_download
    )
    return StageWorkers(
        AsrConfig(
            spec=whisper,
            device=settings.device,
            compute_type=settings.resolved_compute_type,
            threads=settings.resolved_asr_threads,
            batch_size=settings.batch_size,
            download_root=str(settings.model_cache_dir),
            recheck_unwritten=settings.recheck_unwritten_speech,
            language_policy=LanguagePolicy.from_setting(  # issue #22
                settings.languages,
                settings.language_confidence_floor,
                settings.default_language,
                settings.language_switch_confidence,
            ),
        ),
        DiarizationConfig(
            spec=diarization,
            device=settings.device,
            threads=settings.resolved_diarization_threads,
            token=settings.huggingface_token,
            embedding_batch_size=settings.embedding_batch_size,
            segmentation_step=settings.segmentation_step,
            clustering_threshold=settings.clustering_threshold,
            clustering_merge_threshold=settings.clustering_merge_threshold,
            embedding_mode=settings.embedding_mode,
            segmentation_runtime=settings.segmentation_runtime,
            embedding_runtime=settings.embedding_runtime,
            segmentation_precision=settings.segmentation_precision,
            turn_reassignment=settings.turn_reassignment,
            cache_dir=str(settings.model_cache_dir),
        ),
    )
