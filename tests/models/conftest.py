"""Real models, loaded once per test session in the service's own worker processes."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import pytest

from diarize_service.app import build_workers
from diarize_service.config import Settings
from diarize_service.jobs.models import JobOptions
from diarize_service.pipeline.processor import CallProcessor


class PipelineRunner:
    """Synchronous façade over the async processor, for tests."""

    def __init__(self, tmp: Path) -> None:
        self.loop = asyncio.new_event_loop()
        self.settings = Settings(_env_file=None, whisper_model="base", model_cache_dir=Path("var/models"))
        self.workers = build_workers(self.settings)
        self.loop.run_until_complete(self.workers.start())
        self.processor = CallProcessor(self.workers, self.settings.max_audio_seconds)
        self.tmp = tmp
        self.progress: list[tuple[float, str]] = []

    def __call__(self, audio: Path, **options) -> dict:
        self.progress = []
        coro = self.processor.process(
            audio, self.tmp / "decoded.npy", JobOptions(**options), lambda p, s: self.progress.append((p, s))
        )
        return self.loop.run_until_complete(coro)

    def close(self) -> None:
        self.workers.shutdown()
        self.loop.close()


@pytest.fixture(scope="session")
def pipeline(tmp_path_factory):
    runner = PipelineRunner(tmp_path_factory.mktemp("pipeline"))
    yield runner
    runner.close()


@pytest.fixture(scope="session")
def simulated_call(tmp_path_factory, make_calls_script, pool_dev) -> Path:
    """A short simulated 2-party telephone call (8 kHz, mu-law, noise) with exact references."""
    out = tmp_path_factory.mktemp("calls")
    subprocess.run(
        [
            sys.executable,
            str(make_calls_script),
            "--speakers-from",
            str(pool_dev),
            "--seed",
            "7",
            "--n-calls",
            "1",
            "--out",
            str(out),
            "--min-dur",
            "45",
            "--max-dur",
            "70",
            "--p-three",
            "0",
            "--stereo",
        ],
        check=True,
        capture_output=True,
    )
    return out
