"""The API replica's side of the queue: send jobs to workers, and sweep the shared store.

A replica writes the job record first, then publishes its message.  If the
publish fails (the broker is down, the replica dies in between), the job is
still queued in the store -- the truth -- and the sweeper sends it later:

* every ``HEARTBEAT_SECONDS`` one replica (the holder of the store's sweeper
  lock) requeues jobs whose worker's lease ran out and publishes them again;
* it compares the store's queued jobs with the broker's queue, and when the
  broker holds fewer messages than there are queued jobs, publishes the
  oldest jobs whose message went out longest ago (a lost message, a broker
  restarted without persistence).  A job whose message exists twice is
  still run once: workers claim jobs in the store.
"""

from __future__ import annotations

import asyncio
import contextlib
import time

import structlog
from celery import Celery

from ..config import Settings
from ..jobs.models import JobStatus
from ..jobs.sweeper import Sweeper
from ..storage.job_store import JobStore
from .queue import ping_broker, queue_length, send_jobs

log = structlog.get_logger(__name__)
RESEND_AFTER_SECONDS = 30.0  # a message younger than this may still be on its way to the broker


class ClusterDispatcher:
    """Stands where the embedded job runner stands in the API: the routes call the same methods."""

    def __init__(self, settings: Settings, store: JobStore, celery: Celery, sweeper: Sweeper) -> None:
        self.settings = settings
        self.store = store
        self.celery = celery
        self.sweeper = sweeper
        self._task: asyncio.Task | None = None

    @property
    def running(self) -> int:
        return self.store.count(JobStatus.PROCESSING)

    def submitted(self, job_ids: list[str]) -> None:
        """Publish the new jobs' messages; a failure leaves them to the sweeper (they are stored)."""
        self.publish(job_ids)

    def publish(self, job_ids: list[str]) -> list[str]:
        if not job_ids:
            return []
        sent: list[str] = []
        try:
            sent = send_jobs(self.celery, job_ids)
        except Exception as exc:  # broker unreachable: the store keeps the jobs queued
            log.warning(
                "could not publish jobs; the sweeper will", count=len(job_ids), error=type(exc).__name__
            )
        self.store.mark_enqueued(sent)
        return sent

    async def cancel(self, job_id: str) -> bool:
        """Nothing runs here: the worker holding the job sees it deleted at its next heartbeat."""
        return False

    def start(self) -> None:
        self._task = asyncio.create_task(self._sweep_loop(), name="cluster-sweeper")

    async def stop(self, grace_seconds: float = 0.0) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def ready(self) -> None:
        """Raise unless the store and the broker both answer (readiness)."""
        await asyncio.to_thread(self.store.ping)
        await asyncio.to_thread(ping_broker, self.celery)

    async def _sweep_loop(self) -> None:
        while True:
            try:
                await asyncio.to_thread(self.sweep_once)
            except Exception as exc:  # the store or broker is down: try again next round
                log.warning("sweep failed", error=type(exc).__name__)
            await asyncio.sleep(self.settings.heartbeat_seconds)

    def sweep_once(self) -> None:
        if not self.sweeper.sweep():
            return  # another replica holds the sweeper lock
        missing = self.store.count(JobStatus.QUEUED) - queue_length(self.celery)
        if missing > 0:
            stale = self.store.unsent(time.time() - RESEND_AFTER_SECONDS, missing)
            if stale:
                log.warning("re-publishing queued jobs without a message", job_ids=stale)
                self.publish(stale)
