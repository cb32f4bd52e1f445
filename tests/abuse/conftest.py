"""The abuse suite's target: the real service (``main.py``, real models) with API keys on.

Everything runs against one server process on 127.0.0.1 with the default
limits, except a short request timeout so that slow-client probes end
quickly.  A sampler watches the API process's memory for the whole module:
no probe may take it past 1 GB.
"""

from __future__ import annotations

import threading
import time

import httpx
import psutil
import pytest

from diarize_service.api.auth import hash_key
from tests.servers import Server

KEY = "abuse-suite-key"
AUTH = {"Authorization": f"Bearer {KEY}"}
REQUEST_TIMEOUT = 2.0
API_RSS_LIMIT = 1024**3


class MemorySampler:
    """Peak RSS of one process, sampled every 50 ms in a thread."""

    def __init__(self, pid: int) -> None:
        self.process = psutil.Process(pid)
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.peak = max(self.peak, self.process.memory_info().rss)
            except psutil.Error:
                return
            time.sleep(0.05)

    def stop(self) -> int:
        self._stop.set()
        self._thread.join(timeout=5)
        return self.peak


@pytest.fixture(scope="package")
def abuse_server(tmp_path_factory):
    server = Server(
        tmp_path_factory.mktemp("abuse") / "data",
        WHISPER_MODEL="tiny.en",
        API_KEYS=hash_key(KEY),
        REQUEST_TIMEOUT_SECONDS=str(REQUEST_TIMEOUT),
        MAX_CONCURRENT_JOBS="1",
    ).start(headers=AUTH)
    assert server.proc is not None
    sampler = MemorySampler(server.proc.pid)
    server.memory = sampler
    yield server
    peak = sampler.stop()
    server.kill()
    assert peak < API_RSS_LIMIT, f"the API process reached {peak / 1024**2:.0f} MB during the abuse suite"


@pytest.fixture
def api(abuse_server):
    with httpx.Client(base_url=abuse_server.url, headers=AUTH, timeout=120) as client:
        yield client


def job_count(api: httpx.Client) -> int:
    response = api.get("/jobs", params={"limit": 1})
    assert response.status_code == 200, response.text
    return response.json()["total"]


def wait_finished(api: httpx.Client, job_id: str, timeout: float = 180) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body = api.get(f"/status/{job_id}").json()
        if body["status"] in ("completed", "failed"):
            return body
        time.sleep(0.2)
    raise AssertionError(f"job {job_id} did not finish in {timeout} s: {body}")
