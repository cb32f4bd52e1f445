"""Cluster-wide state on the real servers: one sweeper, shared rate limits, claims, audio in S3."""

from __future__ import annotations

import io
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from diarize_service.api.errors import ProblemError
from diarize_service.api.shared_ratelimit import RedisRateLimiter
from diarize_service.jobs.models import Job, JobOptions, JobStatus
from diarize_service.storage.audio_store import AudioStore
from diarize_service.storage.job_store import SqlJobStore
from diarize_service.storage.object_store import S3Blobs
from tools.cluster import free_port, wait_for_port

pytestmark = pytest.mark.models


def test_only_one_holder_of_the_sweeper_lock_sweeps(cluster):
    one, two = SqlJobStore(cluster.postgres.url), SqlJobStore(cluster.postgres.url)
    with one.exclusive("test-lock") as first, two.exclusive("test-lock") as second:
        assert first and not second
    with two.exclusive("test-lock") as again:
        assert again
    one.close()
    two.close()


def test_rate_limits_are_shared_across_replicas(cluster):
    replicas = [RedisRateLimiter(cluster.redis.url, per_minute=3) for _ in range(2)]
    for i in range(3):
        replicas[i % 2].check("key-a")
    with pytest.raises(ProblemError) as refused:
        replicas[1].check("key-a")
    assert refused.value.status == 429 and int(refused.value.headers["Retry-After"]) >= 1
    replicas[0].check("key-b")  # another key has its own window


def test_concurrent_claims_on_postgres_take_each_job_once(cluster):
    """Four handles claim 120 jobs at once (SKIP LOCKED), in a database of their own: the cluster's
    sweeper would otherwise publish these jobs to its workers."""
    import psycopg

    admin = cluster.postgres.url.replace("+psycopg", "")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute("DROP DATABASE IF EXISTS claims")
        conn.execute("CREATE DATABASE claims")
    url = cluster.postgres.url.rsplit("/", 1)[0] + "/claims"
    store = SqlJobStore(url)
    ids = [f"claim-{i:03d}" for i in range(120)]
    for i, job_id in enumerate(ids):
        store.add(Job(job_id, JobStatus.QUEUED, 1e9 + i, JobOptions(), "x.wav", "/nowhere"))
    claimed: list[str] = []
    lock = threading.Lock()
    barrier = threading.Barrier(4)

    def claimer() -> None:
        mine = SqlJobStore(url)
        barrier.wait(timeout=30)
        for _ in range(200):
            job = mine.claim_next(worker="t")
            if job is None:
                break
            with lock:
                claimed.append(job.id)
        mine.close()

    threads = [threading.Thread(target=claimer) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(claimed) == ids
    store.close()


@pytest.fixture(scope="module")
def s3_endpoint():
    """moto's S3 server (MinIO is not packaged for Debian or PyPI): a real S3 HTTP API on loopback."""
    binary = Path(sys.executable).with_name("moto_server")
    if not binary.exists():
        pytest.fail("moto_server missing: ./build.sh test installs requirements-dev.txt")
    port = free_port()
    process = subprocess.Popen(
        [str(binary), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_for_port(port, 30, process)
    yield f"http://127.0.0.1:{port}"
    process.terminate()
    process.wait(timeout=10)


def test_uploads_travel_through_the_bucket(tmp_path, s3_endpoint):
    remote = S3Blobs("diarize-test", s3_endpoint, "test", "test")
    remote.ensure_bucket()
    api_side, worker_side = AudioStore(tmp_path / "api", remote), AudioStore(tmp_path / "worker", remote)
    path, _ = api_side.save("job1", io.BytesIO(b"RIFF" + bytes(5000)), 10_000)
    address = api_side.publish("job1", path)
    assert address == "s3://diarize-test/job1/upload" and not api_side.job_dir("job1").exists()
    local = worker_side.fetch("job1", address)
    assert local is not None and local.read_bytes() == b"RIFF" + bytes(5000)
    assert oct(local.stat().st_mode & 0o777) == "0o600"
    worker_side.delete("job1")
    assert remote.client.list_objects_v2(Bucket="diarize-test").get("KeyCount", 0) == 0
    assert worker_side.fetch("job1", address) is None
