"""Shared fixtures: paths to the real recordings in ../shared/data."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("PYANNOTE_METRICS_ENABLED", "0")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
DATA = SHARED / "data"
SAMPLE_DIR = DATA / "diarization" / "pyannote_sample"


@pytest.fixture(scope="session")
def sample_wav() -> Path:
    path = SAMPLE_DIR / "sample.wav"
    if not path.exists():
        pytest.fail(f"shared test data missing: {path} (the repo expects ../shared beside it)")
    return path


@pytest.fixture(scope="session")
def sample_rttm() -> Path:
    return SAMPLE_DIR / "sample.rttm"


@pytest.fixture(scope="session")
def stereo_wav() -> Path:
    return DATA / "diarization" / "faster_whisper_stereo" / "stereo_diarization.wav"
