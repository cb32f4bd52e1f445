"""The job runner: claims queued jobs from the store and runs at most N at once.

The store, not an in-memory queue, is the source of truth: the runner claims
the oldest queued job atomically, heartbeats while it works, and writes the
result or the error back.  Whatever happens to this process, a job is either
finished in the store or will be found stale (no heartbeat) and requeued by
the next sweep -- here or in another API worker sharing the store.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass
from pathlib import Path

import structlog

from .. import metrics
from ..pipeline.audio import AudioError
from ..pipeline.processor import Processor
from ..pipeline.workers import StageCrashedError
from ..storage.audio_store import AudioStore
from ..storage.job_store import JobStore
from .models import Job, JobStatus
from .webhooks import WebhookSender

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class RunnerConfig:
    max_concurrent_jobs: int = 2
    heartbeat_seconds: float = 5.0
    job_timeout_seconds: float = 3600.0
    max_attempts: int = 3
    keep_audio: bool = False
    result_ttl_seconds: float = 7 * 24 * 3600.0
    poll_seconds: float = 1.0


def describe_error(exc: BaseException) -> str:
    """A message for the job's ``error`` field: precise for known failures."""
    if isinstance(exc, AudioError | StageCrashedError):
        return str(exc)
    if isinstance(exc, TimeoutError):
        return "Processing took longer than JOB_TIMEOUT_SECONDS and was stopped."
    return f"{type(exc).__name__}: {exc}"


class JobRunner:
    def __init__(
        self,
        store: JobStore,
        audio: AudioStore,
        processor: Processor,
        config: RunnerConfig,
        webhooks: WebhookSender | None = None,
    ) -> None:
        self.webhooks = webhooks
        self.store = store
        self.audio = audio
        self.processor = processor
        self.config = config
        self._wake = asyncio.Event()
        self._tasks: dict[str, asyncio.Task] = {}
        self._loop_task: asyncio.Task | None = None
        self._accepting = True
        self._cancelled: set[str] = set()

    @property
    def running(self) -> int:
        return len(self._tasks)

    def notify(self) -> None:
        """A job was queued: look for work now instead of at the next poll."""
        self._wake.set()

    def start(self) -> None:
        self._loop_task = asyncio.create_task(self._dispatch_loop(), name="job-dispatch")

    async def stop(self, grace_seconds: float) -> None:
        """Stop claiming; give running jobs *grace_seconds*, then requeue the rest."""
        self._accepting = False
        if self._loop_task:
            self._loop_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._loop_task
        if self._tasks:
            _, pending = await asyncio.wait(list(self._tasks.values()), timeout=grace_seconds)
            for task in pending:
                task.cancel()
            for task in pending:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task

    async def cancel(self, job_id: str) -> bool:
        """Stop a job running in this process; True if it was running here."""
        task = self._tasks.get(job_id)
        if task is None:
            return False
        self._cancelled.add(job_id)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
        return True

    def _sweep(self) -> None:
        stale_before = time.time() - 3 * self.config.heartbeat_seconds
        requeued = self.store.requeue_stale(stale_before, self.config.max_attempts)
        if requeued:
            log.warning("requeued interrupted jobs", job_ids=requeued)
        expired = self.store.expire_results(time.time() - self.config.result_ttl_seconds)
        for job_id in expired:
            self.audio.delete(job_id)
        if expired:
            log.info("expired results", count=len(expired))

    async def _dispatch_loop(self) -> None:
        last_sweep = 0.0
        while self._accepting:
            if time.monotonic() - last_sweep > self.config.heartbeat_seconds:
                self._sweep()
                last_sweep = time.monotonic()
            while len(self._tasks) < self.config.max_concurrent_jobs:
                job = self.store.claim_next()
                if job is None:
                    break
                task = asyncio.create_task(self._run(job), name=f"job-{job.id}")
                self._tasks[job.id] = task
                task.add_done_callback(lambda _t, jid=job.id: self._finished(jid))
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.config.poll_seconds)

    def _finished(self, job_id: str) -> None:
        self._tasks.pop(job_id, None)
        self._wake.set()

    async def _heartbeat(self, job_id: str) -> None:
        while True:
            await asyncio.sleep(self.config.heartbeat_seconds)
            self.store.heartbeat(job_id)

    async def _run(self, job: Job) -> None:
        bound = log.bind(job_id=job.id, attempt=job.attempts)
        bound.info("job started", filename=job.filename)
        metrics.JOBS_RUNNING.inc()
        heartbeat = asyncio.create_task(self._heartbeat(job.id))
        started = time.perf_counter()
        final: JobStatus | None = None
        error: str | None = None
        try:
            if not job.audio_path or not Path(job.audio_path).exists():
                raise FileNotFoundError("The uploaded audio is no longer stored; please resubmit.")

            def report(progress: float, stage: str) -> None:
                self.store.update_progress(job.id, progress, stage)

            result = await asyncio.wait_for(
                self.processor.process(
                    Path(job.audio_path), self.audio.decoded_path(job.id), job.options, report
                ),
                timeout=self.config.job_timeout_seconds,
            )
            self.store.complete(job.id, result)
            final = JobStatus.COMPLETED
            metrics.AUDIO_SECONDS.inc(result.get("audio_duration", 0.0))
            for stage, seconds in result.get("timings", {}).items():
                metrics.STAGE_SECONDS.labels(stage).observe(seconds)
            bound.info("job completed", seconds=round(time.perf_counter() - started, 2))
        except asyncio.CancelledError:
            if job.id in self._cancelled:  # DELETE /jobs/{id}: the caller removes everything
                self._cancelled.discard(job.id)
                bound.info("job cancelled")
                raise
            # Graceful shutdown ran out of grace: hand the job back to the queue.
            self.store.requeue(job.id)
            bound.warning("job requeued at shutdown")
            raise
        except Exception as exc:
            error = describe_error(exc)
            self.store.fail(job.id, error)
            final = JobStatus.FAILED
            bound.warning("job failed", error=error, exc_info=not isinstance(exc, AudioError))
        finally:
            heartbeat.cancel()
            metrics.JOBS_RUNNING.dec()
            metrics.JOB_SECONDS.observe(time.perf_counter() - started)
            if final is not None:
                metrics.JOBS_FINISHED.labels(final.value).inc()
                self._cleanup(job.id)
                if job.callback_url and self.webhooks is not None:
                    self.webhooks.notify(job.callback_url, job.id, final.value, error)

    def _cleanup(self, job_id: str) -> None:
        self.audio.delete_decoded(job_id)
        if not self.config.keep_audio:
            self.audio.delete(job_id)
            self.store.clear_audio_path(job_id)
