"""What operators fear: a worker killed mid-job, a broker restart, the database down, DELETE mid-job."""

from __future__ import annotations

import signal
import time

import httpx
import psutil
import pytest

from tests.abuse import craft
from tests.cluster.conftest import LEASE, submit, wait_status

pytestmark = pytest.mark.models


@pytest.fixture(scope="module")
def long_call(sample_wav) -> bytes:
    return craft.wav_excerpt(sample_wav, 30.0, repeat=6)  # 3 minutes: long enough to kill mid-job


def _holder(cluster, job_id: str, timeout: float = 60) -> int:
    """The pid of the worker processing *job_id*, once the models are at work."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        rows = cluster.sql(
            "SELECT worker, progress FROM jobs WHERE id = %s AND status = 'processing'", job_id
        )
        if rows and rows[0][1] >= 0.1:
            return int(rows[0][0].rsplit(":", 1)[1])
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} was not taken by a worker: {cluster.sql('SELECT * FROM jobs')}")


def test_a_job_whose_worker_is_killed_is_finished_by_the_other_exactly_once(cluster, long_call):
    job_id = submit(cluster.urls[0], long_call, name="long.wav")
    pid = _holder(cluster, job_id)
    victim = next(w for w in cluster.workers if w.process is not None and w.process.pid == pid)
    models = [child.pid for child in psutil.Process(pid).children(recursive=True)]
    killed_at = time.monotonic()
    victim.process.send_signal(signal.SIGKILL)
    victim.process.wait(timeout=10)

    status = wait_status(cluster.urls[1], job_id, timeout=120 + 60)
    assert status["status"] == "completed", status
    assert time.monotonic() - killed_at < 120 + 60  # the 2 minutes asked, plus this 3-minute call's own run
    assert status["attempts"] == 2
    rows = cluster.sql("SELECT status, attempts, worker FROM jobs WHERE id = %s", job_id)
    assert rows[0][0] == "completed" and rows[0][2] != f"{rows[0][2].rsplit(':', 1)[0]}:{pid}"
    deadline = time.monotonic() + 15
    while any(psutil.pid_exists(p) and psutil.Process(p).status() != psutil.STATUS_ZOMBIE for p in models):
        assert time.monotonic() < deadline, f"model processes of the killed worker outlived it: {models}"
        time.sleep(0.2)
    cluster.workers.remove(victim)
    cluster.add_worker(len(cluster.workers) + 10)
    cluster.wait_for_workers()


def test_delete_stops_a_job_running_on_a_remote_worker(cluster, long_call, sample_wav):
    job_id = submit(cluster.urls[0], long_call, name="long.wav")
    pid = _holder(cluster, job_id)
    busy = [c for c in psutil.Process(pid).children(recursive=True)]
    assert httpx.delete(f"{cluster.urls[1]}/jobs/{job_id}").status_code == 204
    deadline = time.monotonic() + 1.0 + 2 * 1.0 + 2.0  # next heartbeat, then the kill
    killed = set()
    while len(killed) < 1:
        killed = {c.pid for c in busy if not c.is_running() or c.status() == psutil.STATUS_ZOMBIE}
        assert time.monotonic() < deadline, "the worker's model processes kept running after DELETE"
        time.sleep(0.1)
    follow_up = submit(cluster.urls[0], craft.wav_excerpt(sample_wav, 3.0))
    assert wait_status(cluster.urls[0], follow_up, timeout=120)["status"] == "completed"


def test_broker_restart_loses_no_queued_job(cluster, sample_wav):
    """Workers paused, jobs queued, Redis killed and restarted: every job still completes.

    Jobs submitted while the broker is down are stored (202) and published by
    the sweeper when it returns: a lost message leaves no job stuck.
    """
    short = craft.wav_excerpt(sample_wav, 3.0)
    live = [w for w in cluster.workers if w.process is not None and w.process.poll() is None]
    for w in live:
        w.process.send_signal(signal.SIGSTOP)
    try:
        queued = [submit(cluster.urls[i % 2], short) for i in range(3)]
        cluster.redis.stop(signal.SIGKILL)
        during = [submit(cluster.urls[i % 2], short) for i in range(2)]  # the broker is down
        cluster.redis.start()
    finally:
        for w in live:
            w.process.send_signal(signal.SIGCONT)
    for job_id in queued + during:
        status = wait_status(cluster.urls[0], job_id, timeout=180)
        assert status["status"] == "completed", status
        assert status["attempts"] == 1, status


def test_database_down_gives_503_problem_json_and_recovers(cluster):
    cluster.postgres.stop("immediate")
    try:
        for url in cluster.urls:
            for path in ("/health", "/jobs"):
                response = httpx.get(f"{url}{path}", timeout=30)
                assert response.status_code == 503, (path, response.text)
                assert response.headers["content-type"] == "application/problem+json"
            response = httpx.post(f"{url}/diarize", files={"audio_file": ("a.wav", b"RIFF")}, timeout=30)
            assert response.status_code == 503, response.text
    finally:
        cluster.postgres.start()
    deadline = time.monotonic() + 30
    for url in cluster.urls:
        while httpx.get(f"{url}/health", timeout=30).status_code != 200:
            assert time.monotonic() < deadline, "the API did not recover after PostgreSQL came back"
            time.sleep(0.5)
    assert LEASE > 0
