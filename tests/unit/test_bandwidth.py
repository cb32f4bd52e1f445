"""Telephone-band detection on real recordings (it picks the clustering threshold)."""

from __future__ import annotations

import numpy as np
import pytest

from diarize_service.pipeline.audio import decode
from diarize_service.pipeline.bandwidth import is_narrowband, upper_band_db
from tests.conftest import DATA as SHARED_DATA


@pytest.mark.parametrize(
    "relative",
    ["diarization/pyannote_sample/sample.wav", "utterances/fsdd_8k/0_george_0.wav"],
)
def test_telephone_audio_resampled_to_16k_is_narrowband(relative):
    audio = decode(SHARED_DATA / relative)  # decoded at 16 kHz, like every job
    assert is_narrowband(audio)


@pytest.mark.parametrize(
    "relative",
    ["diarization/ami_pyannote_debug/dev00.wav", "utterances/cmu_arctic/cmu_arctic_us_aew_a0001.wav"],
)
def test_wideband_speech_is_not_narrowband(relative):
    audio = decode(SHARED_DATA / relative)
    assert upper_band_db(audio) > -30
    assert not is_narrowband(audio)


def test_wideband_speech_low_passed_at_3_4_khz_becomes_narrowband():
    from scipy.signal import butter, sosfiltfilt

    audio = decode(SHARED_DATA / "diarization/ami_pyannote_debug/dev00.wav")
    telephone = sosfiltfilt(butter(8, 3400, fs=16_000, output="sos"), audio)
    assert is_narrowband(telephone)


def test_silence_and_8khz_storage():
    assert not is_narrowband(np.zeros(16_000, dtype=np.float32))  # nothing to judge: wideband default
    assert is_narrowband(np.zeros(8_000, dtype=np.float32), sample_rate=8_000)
