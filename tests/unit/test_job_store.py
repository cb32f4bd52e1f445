"""SQLite job store: ordering, atomic claims, recovery of interrupted jobs."""

from __future__ import annotations

import time

import pytest

from diarize_service.jobs.models import Job, JobOptions, JobStatus
from diarize_service.storage.job_store import SQLiteJobStore


def job(job_id: str, created: float) -> Job:
    return Job(job_id, JobStatus.QUEUED, created, JobOptions(), f"{job_id}.wav", f"/tmp/{job_id}")


@pytest.fixture
def store(tmp_path):
    s = SQLiteJobStore(tmp_path / "jobs.sqlite3")
    yield s
    s.close()


def test_claims_oldest_first_and_only_once(store):
    store.add(job("b", 2.0))
    store.add(job("a", 1.0))
    first, second = store.claim_next(), store.claim_next()
    assert (first.id, second.id) == ("a", "b")
    assert first.status is JobStatus.PROCESSING and first.attempts == 1
    assert store.claim_next() is None


def test_two_store_handles_never_claim_the_same_job(tmp_path):
    one, two = SQLiteJobStore(tmp_path / "j.db"), SQLiteJobStore(tmp_path / "j.db")
    for i in range(20):
        one.add(job(f"j{i:02d}", float(i)))
    claimed = []
    for i in range(25):  # alternate handles; more tries than jobs
        claimed_job = (one if i % 2 else two).claim_next()
        if claimed_job:
            claimed.append(claimed_job.id)
    assert sorted(claimed) == [f"j{i:02d}" for i in range(20)]


def test_results_and_errors_persist_across_reopen(tmp_path):
    path = tmp_path / "j.db"
    s = SQLiteJobStore(path)
    s.add(job("ok", 1.0))
    s.add(job("bad", 2.0))
    s.claim_next()
    s.complete("ok", {"transcript": "hi"})
    s.claim_next()
    s.fail("bad", "boom")
    s.close()
    s = SQLiteJobStore(path)
    assert s.get("ok").result == {"transcript": "hi"} and s.get("ok").progress == 1.0
    assert s.get("bad").status is JobStatus.FAILED and s.get("bad").error == "boom"
    assert s.get("nope") is None


def test_stale_processing_jobs_are_requeued_then_failed_after_max_attempts(store):
    store.add(job("x", 1.0))
    for attempt in (1, 2):
        assert store.claim_next().attempts == attempt
        assert store.requeue_stale(time.time() + 1, max_attempts=3) == ["x"]
        assert store.get("x").status is JobStatus.QUEUED
    store.claim_next()
    assert store.requeue_stale(time.time() + 1, max_attempts=3) == []
    assert store.get("x").status is JobStatus.FAILED
    assert "interrupted 3 times" in store.get("x").error


def test_fresh_heartbeat_is_not_requeued(store):
    store.add(job("x", 1.0))
    store.claim_next()
    store.heartbeat("x")
    assert store.requeue_stale(time.time() - 60, max_attempts=3) == []
    assert store.get("x").status is JobStatus.PROCESSING


def test_progress_never_goes_backwards(store):
    store.add(job("x", 1.0))
    store.claim_next()
    store.update_progress("x", 0.5, "b")
    store.update_progress("x", 0.2, "a")
    assert store.get("x").progress == 0.5
