"""Real models, loaded once per test session in the service's own worker processes."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bench.datasets import make_calls
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
def simulated_call(tmp_path_factory) -> Path:
    """A short simulated 2-party telephone call (8 kHz, mu-law, noise) from the dev speaker pool."""
    return make_calls(tmp_path_factory.mktemp("calls"), seed=7, n_calls=1, min_dur=45, max_dur=70, p_three=0)


@pytest.fixture(scope="session")
def seed1_calls(tmp_path_factory) -> Path:
    """The first four dev calls of seed 1."""
    return make_calls(tmp_path_factory.mktemp("seed1"), seed=1, n_calls=4)


@pytest.fixture(scope="session")
def digit_call(seed1_calls) -> Path:
    """Dev call dev_s1_001 (stereo): the customer reads out digits, on which Whisper base loops."""
    return seed1_calls / "dev_s1_001"


@pytest.fixture(scope="session")
def looping_digit_call(seed1_calls) -> Path:
    """Dev call dev_s1_003 (stereo): another digit reader; redecoding its loop used to sample."""
    return seed1_calls / "dev_s1_003"


@pytest.fixture(scope="session")
def seed3_calls(tmp_path_factory) -> Path:
    """The first seven dev calls of seed 3 (calls are generated per (seed, index))."""
    return make_calls(tmp_path_factory.mktemp("seed3"), seed=3, n_calls=7, p_three=0.3)


@pytest.fixture(scope="session")
def three_party_call(seed3_calls) -> Path:
    """Dev call dev_s3_005 (88 s): agent ARCTIC aew, customer VCTK p238, supervisor VCTK p335."""
    return seed3_calls / "dev_s3_005"


@pytest.fixture(scope="session")
def digit_supervisor_call(seed3_calls) -> Path:
    """Dev call dev_s3_001 (3 parties): agent VCTK p317, supervisor reading out digits (FSDD yweweler)."""
    return seed3_calls / "dev_s3_001"


@pytest.fixture(scope="session")
def similar_voices_call(seed3_calls) -> Path:
    """Dev call dev_s3_004 (152 s, babble): agent ARCTIC aew, customer the LibriVox Austen reader."""
    return seed3_calls / "dev_s3_004"


@pytest.fixture(scope="session")
def babble_call(seed3_calls) -> Path:
    """Dev call dev_s3_006 (babble at 21 dB SNR): agent VCTK p335, customer VCTK p238."""
    return seed3_calls / "dev_s3_006"
