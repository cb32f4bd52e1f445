"""The whole service as a newcomer runs it: a real server process, real models, test_client.py."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.servers import Server, free_port

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.models


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    srv = Server(tmp_path_factory.mktemp("srv") / "data", WHISPER_MODEL="tiny.en").start()
    yield srv
    srv.kill(signal.SIGTERM)


def run_client(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "test_client.py", *args], cwd=ROOT, capture_output=True, text=True, timeout=600
    )


def test_client_gets_a_two_speaker_transcript(server, sample_wav, tmp_path):
    out = tmp_path / "results.json"
    proc = run_client("--audio", str(sample_wav), "--output", str(out), "--server", server.url)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(out.read_text())
    assert result["total_speakers"] == 2
    assert result["models"] == {"asr": "tiny.en", "diarization": "pyannote-segmentation-3.0+campplus"}
    assert "Speaker_01 [" in proc.stdout and "chicago" in proc.stdout.lower()
    health = httpx.get(f"{server.url}/health").json()
    assert health["models_loaded"] and health["models"]["asr"] == "tiny.en"


def test_client_reports_rejections_and_exits_non_zero(server, tmp_path):
    bogus = tmp_path / "notes.wav"
    bogus.write_text("not audio")
    proc = run_client("--audio", str(bogus), "--output", str(tmp_path / "r.json"), "--server", server.url)
    assert proc.returncode == 1
    assert "415" in proc.stderr and "not a readable audio format" in proc.stderr
    assert "/data/audio" not in proc.stderr  # no server paths leak into errors
    assert not (tmp_path / "r.json").exists()


def test_client_reports_an_unreachable_server(tmp_path, sample_wav):
    proc = run_client("--audio", str(sample_wav), "--server", f"http://127.0.0.1:{free_port()}")
    assert proc.returncode == 1 and "cannot reach" in proc.stderr


def counters(server) -> dict[tuple[str, str], float]:
    """The job counters of ``/metrics``: {(sample name, status label or ""): value}."""
    from prometheus_client.parser import text_string_to_metric_families

    text = httpx.get(f"{server.url}/metrics").text
    return {
        (sample.name, sample.labels.get("status", "")): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name.startswith(("diarize_jobs_", "diarize_audio_seconds"))
    }


def test_metrics_count_a_real_job(server, sample_wav):
    """Counter names are exported from start-up (at 0.0), so the test compares values around one job."""
    before = counters(server)
    with sample_wav.open("rb") as fh:
        job_id = httpx.post(f"{server.url}/diarize", files={"audio_file": ("s.wav", fh)}).json()["job_id"]
    deadline = time.monotonic() + 300
    finished = ("completed", "failed")
    while (status := httpx.get(f"{server.url}/status/{job_id}").json())["status"] not in finished:
        assert time.monotonic() < deadline, f"job not finished in 300 s: {status}"
        time.sleep(0.2)
    assert status["status"] == "completed", status
    after = counters(server)

    def delta(name: str, label: str = "") -> float:
        return after.get((name, label), 0.0) - before.get((name, label), 0.0)

    assert delta("diarize_jobs_submitted_total") == 1
    assert delta("diarize_jobs_finished_total", "completed") == 1
    assert delta("diarize_jobs_finished_total", "failed") == 0
    assert delta("diarize_audio_seconds_total") == pytest.approx(30.0, abs=0.05)


def test_accepted_job_survives_kill_9_and_completes_after_restart(tmp_path, sample_wav):
    data = tmp_path / "data"
    first = Server(data, WHISPER_MODEL="tiny.en", HEARTBEAT_SECONDS="1").start()
    with sample_wav.open("rb") as fh:
        job_id = httpx.post(f"{first.url}/diarize", files={"audio_file": ("s.wav", fh)}).json()["job_id"]
    deadline = time.monotonic() + 60
    while httpx.get(f"{first.url}/status/{job_id}").json()["status"] != "processing":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    first.kill(signal.SIGKILL)
    _assert_workers_exit(first)
    second = Server(data, WHISPER_MODEL="tiny.en", HEARTBEAT_SECONDS="1").start()
    try:
        deadline = time.monotonic() + 180
        while (status := httpx.get(f"{second.url}/status/{job_id}").json())["status"] != "completed":
            assert status["status"] != "failed", status
            assert time.monotonic() < deadline, status
            time.sleep(0.2)
        assert status["attempts"] == 2 and status["result"]["total_speakers"] == 2
    finally:
        second.kill(signal.SIGTERM)


def _assert_workers_exit(server: Server, timeout: float = 15) -> None:
    """The model workers of a SIGKILLed server exit by themselves (no 1.5 GB left behind)."""
    import psutil

    def workers():
        return [
            p
            for p in psutil.process_iter(["environ"])
            if (p.info.get("environ") or {}).get("PORT") == str(server.port) and p.pid != os.getpid()
        ]

    deadline = time.monotonic() + timeout
    while (left := workers()) and time.monotonic() < deadline:
        time.sleep(0.5)
    for process in left:  # do not leak them into the rest of the test run
        process.kill()
    assert not left, f"worker processes outlived the killed server: {[p.pid for p in left]}"


def test_client_writes_subtitles(server, sample_wav, tmp_path):
    import srt

    out = tmp_path / "call.srt"
    proc = run_client(
        "--audio", str(sample_wav), "--output", str(out), "--server", server.url, "--format", "srt"
    )
    assert proc.returncode == 0, proc.stderr
    cues = list(srt.parse(out.read_text()))
    assert len(cues) >= 4 and cues[0].content.startswith("Speaker_01: ")


def test_sigterm_gives_running_jobs_their_grace_then_requeues_them(tmp_path, sample_wav):
    """Real uvicorn, real model workers: SIGTERM stops the server within SHUTDOWN_GRACE_SECONDS,
    the unfinished job goes back to the queue (its attempt not counted), and a restart finishes it."""
    import soundfile as sf

    audio, rate = sf.read(sample_wav, dtype="float32")
    long_call = tmp_path / "long.wav"
    sf.write(long_call, __import__("numpy").tile(audio, 8), rate)  # 4 minutes
    data = tmp_path / "data"
    first = Server(data, WHISPER_MODEL="tiny.en", SHUTDOWN_GRACE_SECONDS="2").start()
    with long_call.open("rb") as fh:
        job_id = httpx.post(f"{first.url}/diarize", files={"audio_file": ("long.wav", fh)}).json()["job_id"]
    deadline = time.monotonic() + 60
    while httpx.get(f"{first.url}/status/{job_id}").json()["progress"] < 0.1:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    stopping = time.monotonic()
    first.kill(signal.SIGTERM)
    assert time.monotonic() - stopping < 2 + 15, "the server outlived its shutdown grace"
    second = Server(data, WHISPER_MODEL="tiny.en").start()
    try:
        status = httpx.get(f"{second.url}/status/{job_id}").json()
        assert status["status"] != "failed", status  # handed back, not failed by the shutdown
        deadline = time.monotonic() + 240
        while (status := httpx.get(f"{second.url}/status/{job_id}").json())["status"] != "completed":
            assert status["status"] != "failed" and time.monotonic() < deadline, status
            time.sleep(0.5)
        assert status["attempts"] == 1  # the interrupted try was handed back, not counted
    finally:
        second.kill(signal.SIGTERM)
