"""DELETE of a running job stops the model processes working on it, within 2 s."""

from __future__ import annotations

import contextlib
import time

import psutil
import pytest

from tests.abuse import craft
from tests.abuse.conftest import wait_finished

pytestmark = pytest.mark.models


def _busy_children(pid: int, seconds: float = 1.0) -> dict[int, float]:
    """CPU seconds each child process of *pid* used over *seconds*."""
    children = psutil.Process(pid).children(recursive=True)
    before = {}
    for child in children:
        with contextlib.suppress(psutil.Error):
            before[child.pid] = sum(child.cpu_times()[:2])
    time.sleep(seconds)
    used = {}
    for child in children:
        try:
            used[child.pid] = sum(child.cpu_times()[:2]) - before[child.pid]
        except (psutil.Error, KeyError):
            used[child.pid] = 0.0
    return used


def _running(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def test_delete_stops_the_models_and_the_next_job_runs(api, abuse_server, sample_wav):
    long_call = craft.wav_excerpt(sample_wav, seconds=30.0, repeat=10)  # 5 minutes
    job_id = api.post("/diarize", files={"audio_file": ("long.wav", long_call)}).json()["job_id"]
    deadline = time.monotonic() + 120
    while api.get(f"/status/{job_id}").json()["progress"] < 0.1:  # decoded: the models are at work
        assert time.monotonic() < deadline, "the long job never started"
        time.sleep(0.1)
    time.sleep(1.0)
    busy = [pid for pid, cpu in _busy_children(abuse_server.proc.pid).items() if cpu > 0.3]
    assert busy, "no model process was working on the job"

    assert api.delete(f"/jobs/{job_id}").status_code == 204
    deadline = time.monotonic() + 2.0
    while any(_running(pid) for pid in busy):
        assert time.monotonic() < deadline, f"model processes {busy} still run 2 s after DELETE"
        time.sleep(0.05)

    short = api.post("/diarize", files={"audio_file": ("short.wav", craft.wav_excerpt(sample_wav, 3.0))})
    assert short.status_code == 202
    status = wait_finished(api, short.json()["job_id"], timeout=120)
    assert status["status"] == "completed", status
