"""The playback copy (KEEP_PLAYBACK_COPY): every shape the decoder leaves, encoded to Ogg/Opus that
plays back as long as the call, owner-only, stereo kept as stereo, and nothing left on failure."""

from __future__ import annotations

import stat

import av
import numpy as np
import pytest

from diarize_service.storage.playback import keep_playback_copy, write_playback_copy

RATE = 16_000


def tone(seconds: float, hz: float) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    return (0.3 * np.sin(2 * np.pi * hz * t)).astype(np.float32)


def probe(path) -> tuple[int, float, str]:
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        decoded = sum(frame.samples for frame in container.decode(stream))
        return stream.codec_context.channels, decoded / stream.rate, stream.codec_context.name


@pytest.mark.parametrize(
    ("array", "channels"),
    [
        (tone(12.5, 440), 1),  # mono after the down-mix: (samples,)
        (tone(12.5, 440)[None, :], 1),  # mono as decoded: (1, samples)
        (np.asfortranarray(np.stack([tone(12.5, 440), tone(12.5, 660)])), 2),  # split stereo, Fortran order
    ],
)
def test_every_decoded_shape_becomes_an_opus_copy_of_the_same_length(tmp_path, array, channels):
    decoded = tmp_path / "audio16k.npy"
    np.save(decoded, array)
    target = tmp_path / "playback.ogg"
    write_playback_copy(decoded, target)
    assert probe(target)[0] == channels and probe(target)[2] == "opus"
    assert probe(target)[1] == pytest.approx(12.5, abs=0.05)
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["audio16k.npy", "playback.ogg"]


def test_the_copy_is_about_24_kbit_per_second(tmp_path):
    """Noise stands in for speech here (a pure tone is a worst case for Opus' variable rate)."""
    noisy = (0.1 * np.random.default_rng(0).standard_normal(20 * RATE)).astype(np.float32)
    np.save(tmp_path / "d.npy", noisy)
    write_playback_copy(tmp_path / "d.npy", tmp_path / "p.ogg")
    assert (tmp_path / "p.ogg").stat().st_size * 8 / 20 < 28_000


def test_stereo_keeps_each_party_on_its_side(tmp_path):
    left_only = np.stack([tone(3, 440), np.zeros(3 * RATE, np.float32)])
    np.save(tmp_path / "d.npy", left_only)
    write_playback_copy(tmp_path / "d.npy", tmp_path / "p.ogg")
    with av.open(str(tmp_path / "p.ogg")) as container:
        pcm = np.concatenate([f.to_ndarray() for f in container.decode(audio=0)], axis=1)
    assert np.abs(pcm[0]).max() > 0.2 and np.abs(pcm[1]).max() < 0.06  # Opus' joint stereo: -20 dB or less


def test_loud_samples_are_clipped_not_wrapped(tmp_path):
    np.save(tmp_path / "d.npy", 3.0 * tone(1, 440))
    write_playback_copy(tmp_path / "d.npy", tmp_path / "p.ogg")
    assert probe(tmp_path / "p.ogg")[1] == pytest.approx(1.0, abs=0.05)


def test_a_failure_leaves_nothing_and_the_runner_only_logs_it(tmp_path):
    np.save(tmp_path / "bad.npy", np.zeros((3, 100), np.float32))
    with pytest.raises(ValueError, match="shape"):
        write_playback_copy(tmp_path / "bad.npy", tmp_path / "p.ogg")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.npy"]
    assert keep_playback_copy(tmp_path / "bad.npy", tmp_path / "p.ogg") is False
    assert keep_playback_copy(tmp_path / "missing.npy", tmp_path / "p.ogg") is False
    assert not (tmp_path / "p.ogg").exists()
