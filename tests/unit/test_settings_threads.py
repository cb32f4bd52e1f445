"""Worker threads: each API worker's ASR and diarization processes share out only its part of the cores."""

from __future__ import annotations

import os

import pytest

from diarize_service.config import Settings


@pytest.fixture
def sixteen_cores(monkeypatch):
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(16)))


def test_one_api_worker_splits_the_cores_between_its_stages(sixteen_cores):
    settings = Settings(_env_file=None)
    assert (settings.resolved_asr_threads, settings.resolved_diarization_threads) == (9, 8)


def test_more_api_workers_do_not_oversubscribe_the_cores(sixteen_cores):
    """Before, every API worker took 9 + 8 threads of 16 cores: two workers ran 34 threads."""
    settings = Settings(_env_file=None, api_workers=2)
    assert (settings.resolved_asr_threads, settings.resolved_diarization_threads) == (5, 4)
    crowded = Settings(_env_file=None, api_workers=32)
    assert (crowded.resolved_asr_threads, crowded.resolved_diarization_threads) == (1, 1)


def test_explicit_threads_win(sixteen_cores):
    settings = Settings(_env_file=None, api_workers=2, asr_threads=3, diarization_threads=2)
    assert (settings.resolved_asr_threads, settings.resolved_diarization_threads) == (3, 2)
