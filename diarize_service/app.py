"""Application factory: builds the FastAPI app and its services' lifespan.

Start-up order matters: settings -> model resolution (fails fast, naming a
missing model) -> job store -> model workers (load once) -> job runner.
Shutdown is the reverse, with a grace period for running jobs (SIGTERM from
Docker/Kubernetes): jobs that do not finish in time go back to the queue.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import structlog
from fastapi import FastAPI

from .api.auth import RateLimiter, RequestGateMiddleware
from .api.deps import Services
from .api.errors import install_error_handlers
from .api.limits import BodySizeLimitMiddleware
from .api.routes import batches, health, jobs
from .config import Settings
from .jobs.runner import JobRunner, RunnerConfig
from .jobs.webhooks import WebhookConfig, WebhookSender, load_or_create_secret
from .logging_setup import configure_logging
from .models.registry import resolve_diarization, resolve_whisper
from .pipeline.processor import CallProcessor, Processor
from .pipeline.workers import AsrConfig, DiarizationConfig, StageWorkers
from .storage.audio_store import AudioStore
from .storage.job_store import SQLiteJobStore

log = structlog.get_logger(__name__)


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


def create_app(settings: Settings | None = None, processor: Processor | None = None) -> FastAPI:
    """Build the app.  Pass *processor* to run jobs without models (API tests)."""
    settings = settings or Settings()
    configure_logging(settings.log_level, settings.log_json)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        workers = None
        job_processor = processor
        if job_processor is None:
            workers = build_workers(settings)
            log.info("loading models", device=settings.device)
            await workers.start()
            log.info("models loaded", asr=workers.asr.info, diarization=workers.diarization.info)
            job_processor = CallProcessor(
                workers, settings.max_audio_seconds, channel_voices=settings.channel_voices
            )
        store = SQLiteJobStore(settings.db_path)
        audio = AudioStore(settings.audio_dir)
        webhooks = WebhookSender(
            WebhookConfig(
                secret=load_or_create_secret(settings.webhook_secret, settings.data_dir),
                allow_private=settings.allow_private_callbacks,
                max_attempts=settings.webhook_max_attempts,
                initial_delay=settings.webhook_initial_delay_seconds,
            )
        )
        runner = JobRunner(
            store,
            audio,
            job_processor,
            RunnerConfig(
                max_concurrent_jobs=settings.max_concurrent_jobs,
                heartbeat_seconds=settings.heartbeat_seconds,
                job_timeout_seconds=settings.job_timeout_seconds,
                max_attempts=settings.max_attempts,
                keep_audio=settings.keep_audio,
                result_ttl_seconds=settings.result_ttl_seconds,
            ),
            webhooks,
        )
        app.state.services = Services(
            settings, store, audio, runner, workers, RateLimiter(settings.rate_limit_per_minute)
        )
        runner.start()
        try:
            yield
        finally:
            log.info("shutting down", running_jobs=runner.running)
            await runner.stop(settings.shutdown_grace_seconds)
            await webhooks.close()
            if workers is not None:
                workers.shutdown()
            store.close()

    app = FastAPI(
        title="Call diarization service",
        version="0.1.0",
        description="Upload a call, get back who said what, when, with per-speaker statistics.",
        lifespan=lifespan,
    )
    install_error_handlers(app)
    slack = 64 * 1024  # multipart boundaries and form fields
    body_limits = {
        "/diarize": settings.max_upload_bytes + slack,
        "/batch-diarize": batches.MAX_BATCH_UPLOADS * settings.max_upload_bytes + slack,
    }
    app.add_middleware(
        BodySizeLimitMiddleware,
        limit_for=body_limits.get,
        idle_timeout=settings.request_timeout_seconds,
        min_bytes_per_second=settings.min_upload_kib_per_second * 1024,
    )
    app.add_middleware(RequestGateMiddleware, api_keys=settings.api_keys)  # outermost: before any body read
    app.include_router(jobs.router)
    app.include_router(batches.router)
    app.include_router(health.router)
    return app
