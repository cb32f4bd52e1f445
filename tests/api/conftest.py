"""API tests against the real app with a fake processor (no models, fast)."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from diarize_service.app import create_app
from diarize_service.config import Settings
from diarize_service.jobs.models import JobOptions
from diarize_service.pipeline.audio import SAMPLE_RATE, decode
from diarize_service.pipeline.output.result import build_result
from diarize_service.pipeline.output.turns import Turn
from diarize_service.pipeline.types import SpeakerTurn, Word


class FakeProcessor:
    """Decodes for real (so bad audio fails for real) but invents the transcript."""

    def __init__(self) -> None:
        self.fail: Exception | None = None
        self.gate = threading.Event()
        self.gate.set()
        self.running = 0
        self.max_running = 0
        self.options: list[JobOptions] = []
        self.cancelled: list[str] = []

    async def process(self, audio_path: Path, decoded_path: Path, options: JobOptions, report):
        self.running += 1
        self.max_running = max(self.max_running, self.running)
        try:
            self.options.append(options)
            audio = await asyncio.to_thread(decode, audio_path)
            report(0.5, "fake")
            try:
                await asyncio.to_thread(self.gate.wait, 30)
            except asyncio.CancelledError:
                self.cancelled.append(audio_path.parent.name)  # the job directory is named after the job
                raise
            if self.fail:
                raise self.fail
            words = [Word(0.1, 0.5, " Hello", 1.0, "A"), Word(0.6, 1.0, " there.", 1.0, "B")]
            return build_result(
                language=("en", 1.0),
                turns=[Turn("A", words[:1]), Turn("B", words[1:])],
                names={"A": "Speaker_01", "B": "Speaker_02"},
                diarization=[SpeakerTurn(0.1, 0.5, "A"), SpeakerTurn(0.6, 1.0, "B")],
                audio_duration=audio.size / SAMPLE_RATE,
                processing_time=0.01,
                models={"asr": "fake", "diarization": "fake"},
                stage_seconds={},
            )
        finally:
            self.running -= 1


@pytest.fixture
def processor() -> FakeProcessor:
    return FakeProcessor()


@pytest.fixture
def settings(tmp_path) -> Settings:
    return Settings(_env_file=None, data_dir=tmp_path / "data", max_concurrent_jobs=1, heartbeat_seconds=0.5)


@pytest.fixture
def client(settings, processor):
    app = create_app(settings, processor=processor)
    with TestClient(app) as c:
        yield c
        # A test that failed with the gate closed would otherwise keep a job running into the
        # shutdown grace period (30 s by default) and its worker thread blocked for 30 s more.
        processor.gate.set()


def wait_until(condition: Callable[[], bool], what: str, timeout: float = 10.0, every: float = 0.02) -> None:
    """Poll *condition* until it holds; fail the test, saying *what* was awaited, after *timeout* s.

    Every wait in the API tests goes through here or :func:`wait_for`, so that a
    regression turns into a clear failure instead of a hung test run.
    """
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(every)


def wait_for(client: TestClient, job_id: str, timeout: float = 30.0) -> dict:
    deadline = time.monotonic() + timeout
    body: dict = {}
    while time.monotonic() < deadline:
        body = client.get(f"/status/{job_id}").json()
        if body["status"] in ("completed", "failed"):
            return body
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} did not finish: {body}")
