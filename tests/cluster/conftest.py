"""A real cluster for these tests: PostgreSQL, Redis, two API replicas and two model workers.

Started once for the package from Debian's servers (installed by
``./build.sh test``), on loopback ports of their own, with a short heartbeat
so that a killed worker's job changes hands within seconds.
"""

from __future__ import annotations

import shutil
import signal
import time
from pathlib import Path

import httpx
import psycopg
import pytest

from tools.cluster import Postgres, Redis, ServiceProcess, api, cluster_env, free_port, wait_for_port, worker

pytestmark = pytest.mark.models
HEARTBEAT = 1.0
LEASE = 6.0


def _require_servers() -> None:
    missing = [name for name in ("redis-server", "runuser") if shutil.which(name) is None]
    if not Path("/usr/lib/postgresql/15/bin/initdb").exists():
        missing.append("postgresql-15")
    if missing:
        pytest.fail(f"cluster tests need {missing}: ./build.sh test installs them (apt-get)")


class Cluster:
    def __init__(self, root: Path) -> None:
        _require_servers()
        self.root = root
        self.apis: list[ServiceProcess] = []
        self.workers: list[ServiceProcess] = []
        self.postgres = Postgres(root / "postgres").start()
        self.redis = Redis(root / "redis").start()
        try:
            self._start_services()
        except BaseException:
            self.stop()  # a cluster that failed to start must not outlive the test run
            raise

    def _start_services(self) -> None:
        root = self.root
        self.env = cluster_env(
            self.postgres.url,
            self.redis.url,
            root / "data",
            WHISPER_MODEL="tiny.en",
            HEARTBEAT_SECONDS=str(HEARTBEAT),
            JOB_LEASE_SECONDS=str(LEASE),
            MAX_CONCURRENT_JOBS="1",
            ALLOW_PRIVATE_CALLBACKS="true",
            SHUTDOWN_GRACE_SECONDS="5",
        )
        self.apis = [api(f"api-{i}", free_port(), self.env, root).start() for i in (1, 2)]
        for index in (1, 2):
            self.add_worker(index)
        for replica in self.apis:
            wait_for_port(int(replica.env["PORT"]), 120, replica.process)
        self.urls = [f"http://127.0.0.1:{replica.env['PORT']}" for replica in self.apis]
        self.wait_for_workers()

    def add_worker(self, index: int) -> ServiceProcess:
        process = worker(f"worker-{index}", free_port(), self.env, self.root).start()
        self.workers.append(process)
        return process

    def wait_for_workers(self, timeout: float = 180) -> None:
        """Until every live worker has loaded its models and listens to the broker."""
        deadline = time.monotonic() + timeout
        for process in self.workers:
            if process.process is None or process.process.poll() is not None:
                continue
            while b" ready." not in process.log.read_bytes():
                assert process.process.poll() is None, process.log.read_text()[-3000:]
                assert time.monotonic() < deadline, (
                    f"{process.name} not ready: {process.log.read_text()[-3000:]}"
                )
                time.sleep(0.5)

    def sql(self, query: str, *args):
        with psycopg.connect(self.postgres.url.replace("+psycopg", "")) as conn:
            return conn.execute(query, args).fetchall()

    def stop(self) -> None:
        for process in [*self.workers, *self.apis]:
            process.stop(signal.SIGKILL, timeout=10)
        self.redis.stop()
        self.postgres.stop("immediate")


@pytest.fixture(scope="package")
def cluster(tmp_path_factory):
    running = Cluster(tmp_path_factory.mktemp("cluster"))
    yield running
    running.stop()


def wait_status(
    url: str, job_id: str, wanted: tuple[str, ...] = ("completed", "failed"), timeout: float = 180
):
    deadline = time.monotonic() + timeout
    body: dict = {}
    while time.monotonic() < deadline:
        response = httpx.get(f"{url}/status/{job_id}", timeout=10)
        if response.status_code == 200:
            body = response.json()
            if body["status"] in wanted:
                return body
        time.sleep(0.25)
    raise AssertionError(f"job {job_id} not {wanted} after {timeout} s: {body}")


def submit(url: str, audio: bytes, name: str = "call.wav", **data: str) -> str:
    response = httpx.post(f"{url}/diarize", files={"audio_file": (name, audio)}, data=data, timeout=60)
    assert response.status_code == 202, response.text
    return response.json()["job_id"]
