"""Cluster worker: ``python -m diarize_service.worker`` -- loads the models once, runs queued jobs.

One worker per GPU (or per CPU box).  It is a Celery worker with a thread
pool of ``MAX_CONCURRENT_JOBS`` threads; each thread hands its job to one
asyncio loop that owns the model processes (decoder, ASR, diarization) and
the job runner, exactly as the embedded service runs them.  Models load
before the worker takes its first message, so a worker that is still
starting never holds a job.

Shutdown (SIGTERM from Kubernetes or compose): Celery stops taking messages;
running jobs get ``SHUTDOWN_GRACE_SECONDS`` to finish, then go back to the
queue (requeued in the store and published again) and their threads return.
Keep ``terminationGracePeriodSeconds`` above that grace.  A worker killed
outright (kill -9, OOM, a lost node) takes its model processes with it (they
watch their parent), and its jobs' leases run out: an API replica's sweeper
hands them to another worker.
"""

from __future__ import annotations

import asyncio
import os
import socket
import threading

import structlog
from celery import signals
from prometheus_client import start_http_server

from .cluster.queue import TASK, make_celery, send_jobs
from .components import build_workers, make_audio_store, make_store, make_webhooks, runner_config
from .config import Settings
from .jobs.runner import JobRunner
from .logging_setup import configure_logging
from .pipeline.processor import CallProcessor

log = structlog.get_logger(__name__)


class WorkerEngine:
    """The models and the job runner, on an asyncio loop in a thread of their own."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.worker_id = f"{socket.gethostname()}:{os.getpid()}"
        self.celery = make_celery(settings)
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="engine", daemon=True)
        self._thread.start()
        self.store = make_store(settings)
        self.audio = make_audio_store(settings)
        self.workers = build_workers(settings)
        self._call(self.workers.start())
        processor = CallProcessor(
            self.workers, settings.max_audio_seconds, channel_voices=settings.channel_voices
        )
        self.webhooks = self._call(self._make_webhooks())
        self.runner = JobRunner(
            self.store,
            self.audio,
            processor,
            runner_config(settings),
            self.webhooks,
            worker_id=self.worker_id,
            on_requeued=self._republish,
        )
        log.info("worker ready", worker=self.worker_id, asr=self.workers.asr.info)

    async def _make_webhooks(self):
        return make_webhooks(self.settings)  # its HTTP client belongs to the engine's loop

    def _call(self, coroutine):
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result()

    def _republish(self, job_ids: list[str]) -> None:
        try:
            self.store.mark_enqueued(send_jobs(self.celery, job_ids))
        except Exception as exc:  # the sweeper publishes what could not be sent now
            log.warning("could not republish requeued jobs", job_ids=job_ids, error=type(exc).__name__)

    def run(self, job_id: str) -> None:
        """Run one job to its end (called from a Celery pool thread, which it blocks)."""
        self._call(self.runner.run_one(job_id))

    def begin_shutdown(self) -> None:
        """SIGTERM: stop taking jobs; running ones get the grace, then go back to the queue.

        Runs in a thread of its own: Celery waits for the pool threads, which
        return once their jobs have finished or been requeued.
        """
        threading.Thread(
            target=self._call, args=(self.runner.stop(self.settings.shutdown_grace_seconds),), daemon=True
        ).start()

    def shutdown(self) -> None:
        """Let running jobs finish within the grace, requeue the rest, then stop the models."""
        self._call(self.runner.stop(self.settings.shutdown_grace_seconds))
        self._call(self.webhooks.close())
        self.workers.shutdown()
        self.store.close()


def main() -> None:
    settings = Settings()
    configure_logging(settings.log_level, settings.log_json)
    if settings.worker_metrics_port:
        start_http_server(settings.worker_metrics_port)
    engine = WorkerEngine(settings)
    app = engine.celery

    @app.task(name=TASK, acks_late=True, reject_on_worker_lost=True)
    def run_job(job_id: str) -> None:
        engine.run(job_id)

    @signals.worker_shutting_down.connect
    def _stopping(**_: object) -> None:
        engine.begin_shutdown()

    try:
        app.worker_main(
            [
                "worker",
                "--pool=threads",
                f"--concurrency={settings.max_concurrent_jobs}",
                f"--loglevel={settings.log_level}",
                f"--hostname=diarize@{engine.worker_id}",
                "--without-gossip",
                "--without-mingle",
            ]
        )
    finally:
        engine.shutdown()


if __name__ == "__main__":
    main()
