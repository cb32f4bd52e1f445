"""The job runner: runs claimed jobs, at most N at once, holding each job's lease while it works.

The store, not an in-memory queue, is the source of truth.  In embedded mode
the runner's own dispatch loop claims the oldest queued job atomically; in
cluster mode a worker claims the job its queue message names
(:meth:`JobRunner.run_one`).  Either way the runner renews the job's lease
(its heartbeat) while it works and writes the result or the error back, as
the worker that holds it.  Whatever happens to this process, a job is either
finished in the store or its lease runs out and the sweeper requeues it --
here, in another API worker, or on another machine.

A job is stopped, and its model processes with it, when:

* it is deleted (DELETE /jobs/{id}), here or through any other replica: the
  next heartbeat finds the row gone;
* its lease was taken over (this worker could not renew it for half the
  lease, e.g. the database was unreachable): it must not run twice at once;
* it runs past ``JOB_TIMEOUT_SECONDS``.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass

import structlog

from .. import metrics
from ..pipeline.audio import AudioError
from ..pipeline.output.identify import MATCH_THRESHOLD
from ..pipeline.processor import Processor
from ..pipeline.stage_process import StageCrashedError
from ..storage.audio_store import AudioStore
from ..storage.job_store import JobStore
from ..storage.playback import keep_playback_copy  # issue #21
from ..storage.voice_store import VoiceStore  # issue #23
from .identification import name_enrolled_voices  # issue #23
from .models import Job, JobStatus
from .sweeper import Sweeper, SweepPolicy
from .webhooks import WebhookSender

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class RunnerConfig:
    max_concurrent_jobs: int = 2
    heartbeat_seconds: float = 5.0
    job_timeout_seconds: float = 3600.0
    max_attempts: int = 3
    keep_audio: bool = False
    keep_playback_copy: bool = False  # issue #21: Ogg/Opus copy for the web console's player
    result_ttl_seconds: float = 7 * 24 * 3600.0
    poll_seconds: float = 1.0
    lease_seconds: float = 0.0  # 0 = 3 heartbeats
    voice_match_threshold: float = MATCH_THRESHOLD  # issue #23

    @property
    def lease(self) -> float:
        return self.lease_seconds or 3 * self.heartbeat_seconds

    def sweep_policy(self) -> SweepPolicy:
        return SweepPolicy(self.lease, self.max_attempts, self.result_ttl_seconds, self.keep_audio)


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
        worker_id: str | None = None,
        on_requeued: Callable[[list[str]], None] | None = None,
    ) -> None:
        self.webhooks = webhooks
        self.store = store
        self.audio = audio
        self.processor = processor
        self.config = config
        self.worker_id = worker_id
        self.on_requeued = on_requeued
        self.voices = VoiceStore.beside(store)  # issue #23: enrolled voices live in the job database
        self.sweeper = Sweeper(store, audio, config.sweep_policy(), webhooks, on_requeued)
        self._wake = asyncio.Event()
        self._tasks: dict[str, asyncio.Task] = {}
        self._loop_task: asyncio.Task | None = None
        self._accepting = True
        self._cancelled: set[str] = set()  # DELETE here: the caller erases the job
        self._lost: set[str] = set()  # deleted elsewhere, or the lease taken over

    @property
    def running(self) -> int:
        return len(self._tasks)

    def notify(self) -> None:
        """A job was queued: look for work now instead of at the next poll."""
        self._wake.set()

    def submitted(self, job_ids: list[str]) -> None:
        """Jobs were queued (the API's hook; a cluster dispatcher sends messages instead)."""
        self.notify()

    def start(self) -> None:
        """Embedded mode: claim and run queued jobs from the store until :meth:`stop`."""
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
        self.sweeper.sweep()

    async def run_one(self, job_id: str) -> JobStatus | None:
        """Cluster mode: claim *job_id* for this worker and run it; None if it was not queued.

        A message for a job that is done, running elsewhere or deleted is a
        duplicate (redelivery after a worker died, a sweeper's resend): it is
        dropped here, which is what makes delivery at-least-once safe.
        """
        if not self._accepting:
            return None
        job = self.store.claim(job_id, self.worker_id or "worker")
        if job is None:
            log.info("message for a job that is not queued: dropped", job_id=job_id)
            return None
        return await self._start(job)

    async def _start(self, job: Job) -> JobStatus | None:
        task = asyncio.create_task(self._run(job), name=f"job-{job.id}")
        self._tasks[job.id] = task
        task.add_done_callback(lambda _t, jid=job.id: self._finished(jid))
        with contextlib.suppress(asyncio.CancelledError):
            return await asyncio.shield(task)
        return None

    async def _dispatch_loop(self) -> None:
        last_sweep = 0.0
        while self._accepting:
            if time.monotonic() - last_sweep > self.config.heartbeat_seconds:
                self._sweep()
                last_sweep = time.monotonic()
            while len(self._tasks) < self.config.max_concurrent_jobs:
                job = self.store.claim_next(self.worker_id)
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

    async def _keep_lease(self, job_id: str, job_task: asyncio.Task) -> None:
        """Renew the lease; stop the job when it is no longer ours to run.

        Half the lease without a renewal (the database unreachable) also stops
        it: by the time the sweeper hands the job to another worker, this one
        has let go, so the job never runs on two workers at once.
        """
        renewed = time.monotonic()
        while True:
            await asyncio.sleep(self.config.heartbeat_seconds)
            try:
                ours = await asyncio.to_thread(self.store.heartbeat, job_id, self.worker_id)
                renewed = time.monotonic() if ours else renewed
            except Exception as exc:  # the store is unreachable: keep trying until the lease is at risk
                ours = time.monotonic() - renewed < self.config.lease / 2
                log.warning("lease not renewed", job_id=job_id, error=type(exc).__name__)
            if not ours:
                self._lost.add(job_id)
                job_task.cancel()
                return

    async def _run(self, job: Job) -> JobStatus | None:
        bound = log.bind(job_id=job.id, attempt=job.attempts, worker=self.worker_id)
        bound.info("job started", filename=job.filename)
        metrics.JOBS_RUNNING.inc()
        current = asyncio.current_task()
        assert current is not None
        lease = asyncio.create_task(self._keep_lease(job.id, current))
        started = time.perf_counter()
        final: JobStatus | None = None
        error: str | None = None
        try:
            upload = await asyncio.to_thread(self.audio.fetch, job.id, job.audio_path)
            if upload is None:
                raise FileNotFoundError("The uploaded audio is no longer stored; please resubmit.")

            def report(progress: float, stage: str) -> None:
                self.store.update_progress(job.id, progress, stage, self.worker_id)

            result = await asyncio.wait_for(
                self.processor.process(upload, self.audio.decoded_path(job.id), job.options, report),
                timeout=self.config.job_timeout_seconds,
            )
            # --- issue #21 (KEEP_PLAYBACK_COPY): encode the player's copy from the decoded audio before
            # cleanup deletes it, and before the job reads completed (the console then finds it at once).
            if self.config.keep_playback_copy:
                decoded, copy = self.audio.decoded_path(job.id), self.audio.playback_path(job.id)
                await asyncio.to_thread(keep_playback_copy, decoded, copy)
            # --- end issue #21
            # --- issue #23: name enrolled voices; the speakers' voiceprints are kept beside the result
            result, prints = await asyncio.to_thread(
                name_enrolled_voices, self.voices, job, result, self.config.voice_match_threshold
            )
            if self.store.complete(job.id, result, self.worker_id, prints):
                final = JobStatus.COMPLETED
                metrics.AUDIO_SECONDS.inc(result.get("audio_duration", 0.0))
                for stage, seconds in result.get("timings", {}).items():
                    metrics.STAGE_SECONDS.labels(stage).observe(seconds)
                bound.info("job completed", seconds=round(time.perf_counter() - started, 2))
            else:
                bound.warning("result dropped: the job was deleted or taken over meanwhile")
                self._lost.add(job.id)
        except asyncio.CancelledError:
            if job.id in self._cancelled:  # DELETE /jobs/{id} here: the caller removes everything
                self._cancelled.discard(job.id)
                bound.info("job cancelled")
            elif job.id in self._lost:
                bound.warning("job stopped: deleted, or its lease was taken over")
            elif self.store.requeue(job.id, self.worker_id):
                # graceful shutdown ran out of grace: hand the job back to the queue
                bound.warning("job requeued at shutdown")
                if self.on_requeued is not None:
                    self.on_requeued([job.id])
            raise
        except Exception as exc:
            error = describe_error(exc)
            if self.store.fail(job.id, error, self.worker_id):
                final = JobStatus.FAILED
            bound.warning("job failed", error=error, exc_info=not isinstance(exc, AudioError))
        finally:
            lease.cancel()
            metrics.JOBS_RUNNING.dec()
            metrics.JOB_SECONDS.observe(time.perf_counter() - started)
            if final is not None:
                metrics.JOBS_FINISHED.labels(final.value).inc()
                self._cleanup(job.id)
                if job.callback_url and self.webhooks is not None:
                    self.webhooks.notify(job.callback_url, job.id, final.value, error)
            elif job.id in self._lost:
                self._lost.discard(job.id)
                self.audio.delete_decoded(job.id)
                if job.audio_path and job.audio_path.startswith("s3://"):
                    self.audio.delete_local(job.id)  # the bucket keeps the upload for whoever runs it next
        return final

    def _cleanup(self, job_id: str) -> None:
        self.audio.delete_decoded(job_id)
        if not self.config.keep_audio:
            self.audio.delete_upload(job_id)  # issue #21: keeps the job dir only if it holds a playback copy
            self.store.clear_audio_path(job_id)
