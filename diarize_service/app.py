"""Application factory: builds the FastAPI app and its services' lifespan.

Two shapes, one app (``SERVICE_MODE``):

* embedded (default): settings -> model resolution (fails fast, naming a
  missing model) -> job store -> model workers (load once) -> job runner.
* cluster: job store (PostgreSQL, migrated at start-up) -> audio store ->
  Celery dispatcher and sweeper.  No models: workers run jobs
  (:mod:`diarize_service.worker`).

Shutdown is the reverse, with a grace period for running jobs (SIGTERM from
Docker/Kubernetes): jobs that do not finish in time go back to the queue.
"""

from __future__ import annotations

import os
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import structlog
from fastapi import FastAPI

from . import metrics
from .api.auth import RateLimiter, RequestGateMiddleware
from .api.deps import Services
from .api.errors import install_error_handlers
from .api.limits import BodySizeLimitMiddleware
from .api.routes import batches, health, jobs, speakers, ui
from .components import build_workers, make_audio_store, make_store, make_webhooks, runner_config
from .config import Settings
from .jobs.runner import JobRunner
from .logging_setup import configure_logging
from .pipeline.processor import CallProcessor, Processor

__all__ = ["build_workers", "create_app"]  # build_workers: bench/ and tests build model workers alike

log = structlog.get_logger(__name__)


def _rate_limiter(settings: Settings):
    """Cluster replicas share their limits in Redis (the broker); one process counts alone."""
    if settings.cluster and settings.broker_url.startswith(("redis://", "rediss://")):
        from .api.shared_ratelimit import RedisRateLimiter

        return RedisRateLimiter(settings.broker_url, settings.rate_limit_per_minute)
    return RateLimiter(settings.rate_limit_per_minute)


def create_app(settings: Settings | None = None, processor: Processor | None = None) -> FastAPI:
    """Build the app.  Pass *processor* to run jobs without models (API tests)."""
    settings = settings or Settings()
    configure_logging(settings.log_level, settings.log_json)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if settings.cluster:
            async with _cluster_services(settings) as services:
                app.state.services = services
                yield
            return
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
        store = make_store(settings)
        audio = make_audio_store(settings)
        webhooks = make_webhooks(settings)
        # the runner names itself in the jobs it holds: another API worker's runner cannot overwrite them
        worker_id = f"{socket.gethostname()}:{os.getpid()}"
        runner = JobRunner(
            store, audio, job_processor, runner_config(settings), webhooks, worker_id=worker_id
        )
        app.state.services = Services(settings, store, audio, runner, workers, _rate_limiter(settings))
        app.state.services.embed_voice = getattr(job_processor, "embed_voice", None)  # issue #23
        metrics.watch_store(store)
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
        "/speakers": settings.max_upload_bytes + slack,  # issue #23: enrolment from a recording
    }

    def body_limit(path: str) -> int:
        """Uploads get room for a file; every other route a few form fields at most."""
        if path.startswith("/speakers/") and path.endswith("/samples"):
            path = "/speakers"  # one more sample of an enrolled voice: a recording, as at enrolment
        return body_limits.get(path, slack)

    app.add_middleware(
        BodySizeLimitMiddleware,
        limit_for=body_limit,
        idle_timeout=settings.request_timeout_seconds,
        min_bytes_per_second=settings.min_upload_kib_per_second * 1024,
    )
    app.add_middleware(RequestGateMiddleware, api_keys=settings.api_keys)  # outermost: before any body read
    app.include_router(jobs.router)
    app.include_router(batches.router)
    app.include_router(health.router)
    app.include_router(ui.router)  # issue #21: web console /ui and GET /jobs/{job_id}/audio
    app.include_router(speakers.router)  # issue #23: enrolled voices
    return app


@asynccontextmanager
async def _cluster_services(settings: Settings) -> AsyncIterator[Services]:
    """A stateless API replica: the shared store and audio, and the dispatcher in place of a runner."""
    from .cluster.dispatcher import ClusterDispatcher
    from .cluster.queue import make_celery
    from .jobs.sweeper import Sweeper

    store = make_store(settings)
    audio = make_audio_store(settings)
    webhooks = make_webhooks(settings)
    celery = make_celery(settings)
    dispatcher = ClusterDispatcher(
        settings, store, celery, Sweeper(store, audio, runner_config(settings).sweep_policy(), webhooks)
    )
    dispatcher.sweeper.on_requeued = dispatcher.publish
    metrics.watch_store(store)
    dispatcher.start()
    try:
        yield Services(
            settings, store, audio, dispatcher, None, _rate_limiter(settings), ready=dispatcher.ready
        )
    finally:
        await dispatcher.stop()
        await webhooks.close()
        store.close()
