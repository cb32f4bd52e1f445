"""The sweeper: recovers interrupted jobs and erases expired results, for the whole store.

It runs beside the job runner in embedded mode and in every API replica in
cluster mode, but only one holder of the store's ``sweeper`` lock acts at a
time (a PostgreSQL advisory lock; SQLite needs none), so a cluster has one
sweeper however many replicas run, and another takes over when it dies.

* A job whose lease ran out (its worker died: kill -9, OOM, node loss) goes
  back to the queue, or fails after ``max_attempts`` interruptions.
* Results older than ``RESULT_TTL_SECONDS`` are erased with their audio.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import structlog

from ..storage.audio_store import AudioStore
from ..storage.job_store import JobStore
from .webhooks import WebhookSender

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class SweepPolicy:
    lease_seconds: float = 15.0
    max_attempts: int = 3
    result_ttl_seconds: float = 7 * 24 * 3600.0
    keep_audio: bool = False


class Sweeper:
    def __init__(
        self,
        store: JobStore,
        audio: AudioStore,
        policy: SweepPolicy,
        webhooks: WebhookSender | None = None,
        on_requeued: Callable[[list[str]], None] | None = None,
    ) -> None:
        self.store = store
        self.audio = audio
        self.policy = policy
        self.webhooks = webhooks
        self.on_requeued = on_requeued

    def sweep(self) -> bool:
        """One pass; False when another process holds the sweeper lock (it sweeps instead)."""
        with self.store.exclusive("sweeper") as mine:
            if not mine:
                return False
            stale_before = time.time() - self.policy.lease_seconds
            for job_id in self.store.fail_exhausted(stale_before, self.policy.max_attempts):
                self._given_up(job_id)
            requeued = self.store.requeue_stale(stale_before, self.policy.max_attempts)
            if requeued:
                log.warning("requeued interrupted jobs", job_ids=requeued)
                if self.on_requeued is not None:
                    self.on_requeued(requeued)
            expired = self.store.expire_results(time.time() - self.policy.result_ttl_seconds)
            for job_id in expired:
                self.audio.delete(job_id)
            if expired:
                log.info("expired results", count=len(expired))
        return True

    def _given_up(self, job_id: str) -> None:
        """A job interrupted too often is failed: its audio goes as after any failure, its webhook fires."""
        log.warning("job failed after repeated interruptions", job_id=job_id)
        self.audio.delete_decoded(job_id)
        if not self.policy.keep_audio:
            self.audio.delete(job_id)
            self.store.clear_audio_path(job_id)
        job = self.store.get(job_id)
        if job is not None and job.callback_url and self.webhooks is not None:
            self.webhooks.notify(job.callback_url, job.id, job.status.value, job.error)
