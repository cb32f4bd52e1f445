"""The runner's sweep on its own: what happens to the files of jobs it finishes or expires.

Driven without an event loop or an app (``JobRunner._sweep`` is synchronous),
so each case is exact rather than timed: job rows are set up with the store,
the sweep runs once, and the audio directory is inspected.
"""

from __future__ import annotations

import io
import time

import pytest

from diarize_service.jobs.models import Job, JobOptions, JobStatus
from diarize_service.jobs.runner import JobRunner, RunnerConfig
from diarize_service.storage.audio_store import AudioStore
from diarize_service.storage.job_store import SQLiteJobStore


@pytest.fixture
def parts(tmp_path):
    store = SQLiteJobStore(tmp_path / "jobs.sqlite3")
    audio = AudioStore(tmp_path / "audio")
    yield store, audio
    store.close()


def queued_with_audio(store: SQLiteJobStore, audio: AudioStore, job_id: str) -> None:
    path, _ = audio.save(job_id, io.BytesIO(b"RIFF" + bytes(1000)), 10_000)
    audio.decoded_path(job_id).write_bytes(b"decoded copy")
    store.add(Job(job_id, JobStatus.QUEUED, time.time(), JobOptions(), "call.wav", str(path)))


def runner(store, audio, **config) -> JobRunner:
    return JobRunner(store, audio, processor=None, config=RunnerConfig(**config))


def test_sweep_deletes_kept_audio_of_expired_jobs_only(parts):
    """KEEP_AUDIO: expired jobs lose their directory; a job finished within the TTL keeps it."""
    store, audio = parts
    for job_id in ("old", "new"):
        queued_with_audio(store, audio, job_id)
        store.claim_next()
        store.complete(job_id, {"transcript": "hi"})
    sweeper = runner(store, audio, keep_audio=True, result_ttl_seconds=60)
    with store.engine.begin() as conn:  # "old" finished two minutes ago
        conn.exec_driver_sql("UPDATE jobs SET finished_at = ? WHERE id = 'old'", (time.time() - 120,))
    sweeper._sweep()
    assert not audio.job_dir("old").exists()
    assert (audio.job_dir("new") / "upload").exists()
    assert store.get("old").stage == "expired" and store.get("new").result == {"transcript": "hi"}


def test_job_failed_by_the_sweeper_loses_its_audio_and_decoded_copy(parts):
    """A job interrupted MAX_ATTEMPTS times is failed by the sweep, not by ``_run``, so ``_cleanup``
    never runs for it; its recording must still go as soon as it is finished (KEEP_AUDIO off)."""
    store, audio = parts
    queued_with_audio(store, audio, "crashy")
    store.claim_next()  # attempt 1 of 1, then the worker "dies": no heartbeat any more
    sweeper = runner(store, audio, max_attempts=1, heartbeat_seconds=0.01)
    time.sleep(0.05)  # older than 3 heartbeats
    sweeper._sweep()
    job = store.get("crashy")
    assert job.status is JobStatus.FAILED and "interrupted 1 times" in job.error
    assert not audio.decoded_path("crashy").exists(), "the decoded copy outlived the failed job"
    assert not audio.job_dir("crashy").exists(), "the upload outlived the failed job (KEEP_AUDIO off)"
    assert job.audio_path is None
