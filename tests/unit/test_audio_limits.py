"""The decoder's bounds, on real FFmpeg (PyAV) and crafted files: what is opened, and how much comes out."""

from __future__ import annotations

import os

import numpy as np
import pytest

from diarize_service.pipeline.audio import (
    AudioError,
    UnsupportedAudioError,
    decode_channels,
    decode_to_file,
    downmix_file,
    plausible_seconds,
    probe,
)
from tests.abuse import craft


def test_a_playlist_that_lists_itself_is_refused_without_being_opened(tmp_path):
    path = tmp_path / "upload"
    path.write_bytes(craft.self_referencing_ffconcat())
    with pytest.raises(UnsupportedAudioError):
        probe(path)
    with pytest.raises(UnsupportedAudioError):
        decode_channels(path)


def test_a_playlist_naming_another_file_on_the_server_is_not_followed(tmp_path, sample_wav):
    """ffconcat would read any file the service can (another job's audio): only audio containers open."""
    (tmp_path / "someone-elses-call.wav").write_bytes(sample_wav.read_bytes())
    path = tmp_path / "upload"
    path.write_bytes(b"ffconcat version 1.0\nfile someone-elses-call.wav\n")
    with pytest.raises(UnsupportedAudioError):
        probe(path)
    with pytest.raises(UnsupportedAudioError):
        decode_channels(path)


@pytest.mark.parametrize("rate", [1, 200_000_000])
def test_absurd_declared_sample_rates_are_refused_at_the_probe(tmp_path, rate):
    path = tmp_path / "call.wav"
    path.write_bytes(craft.wav_declaring(rate))
    with pytest.raises(UnsupportedAudioError, match="sample rate"):
        probe(path)


def test_a_header_that_lies_about_the_length_is_not_believed(tmp_path):
    """A 2 s FLAC claiming 50 days: the probe reports no length; the decoder measures 2 s."""
    path = tmp_path / "short.flac"
    path.write_bytes(craft.flac_with_lying_streaminfo(seconds=2.0))
    assert probe(path).duration is None
    assert decode_channels(path).shape[1] == pytest.approx(32_000, abs=200)


def test_decoded_audio_is_bounded_by_the_uploads_size(tmp_path, monkeypatch):
    """More audio than the bytes can plausibly hold is refused while decoding, not after."""
    from diarize_service.pipeline import audio

    path = tmp_path / "call.wav"
    path.write_bytes(craft.wav_declaring(8_000, data_bytes=8_000 * 2 * 3))  # 3 s of PCM, 48 KB
    monkeypatch.setattr(audio, "FREE_SECONDS", 0.0)
    monkeypatch.setattr(audio, "MIN_BYTES_PER_SECOND", 48_000)  # as if this file may hold 1 s
    with pytest.raises(AudioError, match="far more audio than its size"):
        decode_channels(path)
    assert plausible_seconds(16) == pytest.approx(audio.FREE_SECONDS + 16 / audio.MIN_BYTES_PER_SECOND)


def test_decode_to_file_streams_an_owner_only_npy_equal_to_the_in_memory_decode(tmp_path, stereo_wav):
    target = tmp_path / "audio16k.npy"
    decoded = decode_to_file(stereo_wav, target)
    on_disk = np.load(target)
    assert (decoded.channels, decoded.samples) == on_disk.shape == (2, 80_000)
    np.testing.assert_array_equal(on_disk, decode_channels(stereo_wav))
    assert oct(os.stat(target).st_mode & 0o777) == "0o600"
    downmix_file(target)
    mono = np.load(target)
    np.testing.assert_allclose(mono, on_disk.mean(axis=0), atol=1e-7)
    assert oct(os.stat(target).st_mode & 0o777) == "0o600"


def test_a_failed_decode_leaves_no_file(tmp_path):
    path = tmp_path / "upload"
    path.write_bytes(craft.self_referencing_ffconcat())
    with pytest.raises(AudioError):
        decode_to_file(path, tmp_path / "audio16k.npy")
    assert not (tmp_path / "audio16k.npy").exists()
