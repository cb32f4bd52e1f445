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


def _claim_until_empty(path, barrier, results, limit: int) -> None:
    """One API worker: its own store handle, claiming as fast as it can once everyone is ready."""
    store = SQLiteJobStore(path)
    claimed = []
    barrier.wait(timeout=30)
    for _ in range(limit):  # bounded: a broken claim that never empties the queue cannot hang the test
        job = store.claim_next()
        if job is None:
            break
        claimed.append(job.id)
    store.close()
    results.put(claimed)


@pytest.mark.parametrize("workers", ["processes", "threads"])
def test_concurrent_claims_from_several_handles_take_each_job_exactly_once(tmp_path, workers):
    """Several API workers share one SQLite file and claim at the same instant (released by a barrier).

    The alternating two-handle test above cannot see a claim that is not atomic
    (SELECT the oldest queued job, then UPDATE it): that only goes wrong when
    two claims interleave, which here 4 workers taking 500 jobs do many times.
    """
    import multiprocessing
    import queue
    import sqlite3
    import threading

    path = tmp_path / "j.db"
    seed = SQLiteJobStore(path)
    ids = [f"j{i:03d}" for i in range(500)]
    for i, job_id in enumerate(ids):
        seed.add(job(job_id, float(i)))
    seed.close()
    count = 4
    if workers == "processes":
        ctx = multiprocessing.get_context("fork")
        barrier, results = ctx.Barrier(count), ctx.Queue()
        runners = [
            ctx.Process(target=_claim_until_empty, args=(path, barrier, results, 1000)) for _ in range(count)
        ]
    else:
        barrier, results = threading.Barrier(count), queue.Queue()
        runners = [
            threading.Thread(target=_claim_until_empty, args=(path, barrier, results, 1000), daemon=True)
            for _ in range(count)
        ]
    for runner in runners:
        runner.start()
    try:
        per_worker = [results.get(timeout=60) for _ in runners]
    except queue.Empty:
        raise AssertionError("a claiming worker died or hung: no report within 60 s") from None
    finally:
        for runner in runners:
            runner.join(timeout=10)
    claimed = [job_id for ids_of_one in per_worker for job_id in ids_of_one]
    duplicates = sorted({j for j in claimed if claimed.count(j) > 1})
    assert not duplicates, f"{len(duplicates)} jobs were claimed more than once, e.g. {duplicates[:5]}"
    assert sorted(claimed) == ids, f"{len(ids) - len(set(claimed))} jobs were never claimed"
    with sqlite3.connect(path) as conn:
        states = conn.execute("SELECT status, attempts, COUNT(*) FROM jobs GROUP BY 1, 2").fetchall()
    assert states == [("processing", 1, len(ids))]


def _raw_rows(path) -> dict[str, tuple]:
    import sqlite3

    with sqlite3.connect(path) as conn:
        return {r[0]: r[1:] for r in conn.execute("SELECT id, status, stage, result, filename FROM jobs")}


def test_expire_results_erases_results_of_jobs_finished_before_the_cutoff_only(tmp_path):
    """Expiry empties the ``result`` column itself (read back with sqlite3), for completed and
    failed jobs finished before the cutoff; later and unfinished jobs are untouched."""
    path = tmp_path / "j.db"
    s = SQLiteJobStore(path)
    for job_id, created in (
        ("old-ok", 1.0),
        ("old-bad", 2.0),
        ("new-ok", 3.0),
        ("running", 4.0),
        ("queued", 5.0),
    ):
        s.add(job(job_id, created))
    for _ in range(4):
        s.claim_next()
    s.complete("old-ok", {"transcript": "secret"})
    s.fail("old-bad", "boom")
    cutoff = time.time() + 0.001
    while time.time() <= cutoff:  # finished_at of new-ok must be strictly after the cutoff
        time.sleep(0.001)
    s.complete("new-ok", {"transcript": "fresh"})
    assert sorted(s.expire_results(cutoff)) == ["old-bad", "old-ok"]
    assert s.expire_results(cutoff) == []  # expired once, not again
    s.close()
    rows = _raw_rows(path)
    assert rows["old-ok"] == ("completed", "expired", None, "")  # the file's name may be the caller's number
    assert rows["old-bad"] == ("failed", "expired", None, "")
    assert rows["new-ok"] == ("completed", "done", '{"transcript": "fresh"}', "new-ok.wav")
    assert rows["running"][:2] == ("processing", "starting") and rows["queued"][:2] == ("queued", None)


def test_one_idempotency_key_makes_one_job_even_without_an_owner(tmp_path):
    """With authentication off the owner is NULL, and NULLs never collide in a plain unique index."""
    from sqlalchemy.exc import IntegrityError

    store = SQLiteJobStore(tmp_path / "j.db")
    first = job("a", 1.0)
    first.idempotency_key = "k"
    store.add(first)
    second = job("b", 2.0)
    second.idempotency_key = "k"
    with pytest.raises(IntegrityError):
        store.add(second)
    assert store.find_idempotent(None, "k").id == "a"
    store.close()


def test_the_job_database_is_owner_only(tmp_path):
    import os
    import stat

    path = tmp_path / "data" / "jobs.sqlite3"
    store = SQLiteJobStore(path)
    store.add(job("x", 1.0))
    for name in ("jobs.sqlite3", "jobs.sqlite3-wal", "jobs.sqlite3-shm"):
        candidate = path.parent / name
        if candidate.exists():
            assert stat.S_IMODE(os.stat(candidate).st_mode) == 0o600, name
    assert stat.S_IMODE(os.stat(path.parent).st_mode) == 0o700
    store.close()


def test_a_database_from_before_migrations_is_adopted(tmp_path):
    """The SQLite file of earlier versions (no Alembic table, the old NULL-blind index) keeps its jobs."""
    import sqlite3

    path = tmp_path / "old.db"
    with sqlite3.connect(path) as conn:
        conn.executescript(
            """
            CREATE TABLE jobs (id TEXT PRIMARY KEY, status TEXT NOT NULL, created_at REAL NOT NULL,
                options TEXT NOT NULL, filename TEXT NOT NULL, audio_path TEXT,
                progress REAL NOT NULL DEFAULT 0, stage TEXT, started_at REAL, finished_at REAL,
                heartbeat_at REAL, attempts INTEGER NOT NULL DEFAULT 0, error TEXT, result TEXT,
                owner TEXT, idempotency_key TEXT, upload_sha256 TEXT, callback_url TEXT, batch_id TEXT);
            CREATE UNIQUE INDEX jobs_idempotency ON jobs (owner, idempotency_key)
                WHERE idempotency_key IS NOT NULL;
            INSERT INTO jobs (id, status, created_at, options, filename, idempotency_key) VALUES
                ('old1', 'queued', 1.0, '{}', 'a.wav', 'dup'), ('old2', 'queued', 2.0, '{}', 'b.wav', 'dup');
            """
        )
    store = SQLiteJobStore(path)
    assert store.get("old1") is not None and store.get("old2") is not None
    assert sum(store.get(i).idempotency_key == "dup" for i in ("old1", "old2")) == 1
    assert store.claim_next().id == "old1"
    store.close()
