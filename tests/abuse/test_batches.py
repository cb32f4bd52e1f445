"""Zip batches: bounded in memory, off the event loop, counted before anything is queued."""

from __future__ import annotations

import threading
import time

import httpx
import pytest

from tests.abuse import craft
from tests.abuse.conftest import job_count

pytestmark = pytest.mark.models


@pytest.fixture(scope="module")
def short_call(sample_wav) -> bytes:
    return craft.wav_excerpt(sample_wav, seconds=2.0)


def test_zip_of_large_zero_members_is_streamed_not_held(api, abuse_server):
    """Six 200 MiB members of zeros (1.2 MB zipped): each is refused as not audio, memory stays low."""
    before = job_count(api)
    body = craft.zip_of_zeros(members=6, member_bytes=200 * 1024 * 1024)
    response = api.post("/batch-diarize", files={"audio_files": ("zeros.zip", body, "application/zip")})
    assert response.status_code == 422, response.text
    assert [f["error_status"] for f in response.json()["files"]] == [415] * 6
    assert job_count(api) == before
    assert abuse_server.memory.peak < 600 * 1024**2, abuse_server.memory.peak


def test_zip_of_a_million_empty_members_is_refused_without_stalling_the_service(api, abuse_server):
    body = craft.zip_with_many_empty_members(1_100_000)
    latencies: list[float] = []
    done = threading.Event()

    def probe_health() -> None:
        with httpx.Client(base_url=abuse_server.url, timeout=30) as client:
            while not done.is_set():
                started = time.monotonic()
                assert client.get("/health").status_code == 200
                latencies.append(time.monotonic() - started)
                time.sleep(0.02)

    prober = threading.Thread(target=probe_health, daemon=True)
    prober.start()
    started = time.monotonic()
    response = api.post("/batch-diarize", files={"audio_files": ("many.zip", body, "application/zip")})
    elapsed = time.monotonic() - started
    done.set()
    prober.join(timeout=30)
    assert response.status_code == 413, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert elapsed < 10, elapsed
    assert latencies and max(latencies) < 1.0, max(latencies)


def test_batch_over_the_file_limit_queues_nothing(api, short_call):
    before = job_count(api)
    body = craft.zip_of_files({f"call{i}.wav": short_call for i in range(150)})
    response = api.post("/batch-diarize", files={"audio_files": ("calls.zip", body, "application/zip")})
    assert response.status_code == 413, response.text
    assert job_count(api) == before


def test_unreadable_zip_members_are_per_file_errors_and_leave_no_orphans(api, short_call):
    before = job_count(api)
    body = craft.zip_with_broken_members(short_call)
    response = api.post("/batch-diarize", files={"audio_files": ("mixed.zip", body, "application/zip")})
    assert response.status_code == 202, response.text
    files = {f["filename"]: f for f in response.json()["files"]}
    assert files["good.wav"]["job_id"]
    for name in ("encrypted.wav", "method.wav", "corrupt.wav"):
        assert files[name]["job_id"] is None and files[name]["error_status"] == 422, files[name]
    assert "encrypted" in files["encrypted.wav"]["error"]
    assert job_count(api) == before + 1
    api.delete(f"/jobs/{files['good.wav']['job_id']}")
