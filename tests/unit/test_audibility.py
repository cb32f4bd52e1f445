"""bench/audibility.py: reference speech that the telephone channel cannot carry is found, and only that."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from pyannote.core import Annotation, Segment, Timeline
from pyannote.database.util import load_rttm

from bench import audibility
from bench.datasets import DATA, MAKE_CALLS

RATE = 16_000


def _tone(freq: float, seconds: float, level: float) -> np.ndarray:
    return level * np.sin(2 * np.pi * freq * np.arange(int(seconds * RATE)) / RATE)


def test_rumble_under_the_telephone_band_is_inaudible_speech_in_the_band_is_not():
    """1 s of 1 kHz (in the band), then 1 s of 100 Hz as loud (below 300 Hz), over white noise."""
    speech = np.concatenate([np.zeros(RATE), _tone(1000, 1, 0.1), _tone(100, 1, 0.1), np.zeros(RATE)])
    noise = np.random.default_rng(0).standard_normal(len(speech))
    mask = np.abs(speech) > 0
    mix = audibility.ChannelMix(speech, noise, 20.0, mask, np.zeros(0))
    quiet = audibility.inaudible(mix)
    in_band, rumble = Segment(1.05, 1.95), Segment(2.05, 2.95)
    assert quiet.crop(rumble).duration() == pytest.approx(rumble.duration, abs=0.05)
    assert quiet.crop(in_band).duration() == 0.0


def test_audible_reference_only_removes_the_speakers_own_inaudible_stretches():
    reference = Annotation()
    reference[Segment(0, 4)] = "agent"
    reference[Segment(3, 6)] = "customer"
    audible = audibility.audible_reference(reference, {"agent": Timeline([Segment(3.5, 5)])})
    assert audible.label_timeline("agent").duration() == pytest.approx(3.5)
    assert audible.label_timeline("customer").duration() == pytest.approx(3.0)


@pytest.fixture(scope="module")
def p335_call(tmp_path_factory):
    """A short stereo call between VCTK p335 (whose one sentence ends in rumble) and a digit reader."""
    out = tmp_path_factory.mktemp("calls")
    speakers = out / "pool.txt"
    speakers.write_text("vctk_p335\nfsdd_nicolas\n")
    subprocess.run(
        [sys.executable, str(MAKE_CALLS), "--speakers-from", str(speakers), "--seed", "7", "--n-calls", "1",
         "--min-dur", "20", "--max-dur", "25", "--out", str(out), "--stereo", "--data-root", str(DATA)],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return out


def test_replay_finds_the_end_of_every_p335_sentence_inaudible(p335_call):
    """The generator is replayed exactly (else replay raises); each p335 sentence loses its faded end."""
    ((call_id, reference),) = audibility.audible_references(p335_call, stereo=True).items()
    original = next(iter(load_rttm(p335_call / f"{call_id}.rttm").values()))
    sentences = list(original.label_timeline("vctk_p335"))
    assert sentences
    for sentence in sentences:
        kept = reference.label_timeline("vctk_p335").crop(sentence).duration()
        assert 0.5 < sentence.duration - kept < 1.0  # 0.88 s of rumble, less the last run's edge
    digits = original.label_timeline("fsdd_nicolas").duration()
    assert reference.label_timeline("fsdd_nicolas").duration() > 0.9 * digits


def test_audible_references_are_kept_beside_the_calls_and_read_back_unchanged(p335_call, monkeypatch):
    """The second call reads ``audible.stereo.rttm`` (a machine with only the calls needs no replay)."""
    (p335_call / "audible.stereo.rttm").unlink(missing_ok=True)
    replayed = audibility.audible_references(p335_call, stereo=True)
    assert (p335_call / "audible.stereo.rttm").is_file()

    def no_replay(*args):
        raise AssertionError("replayed although the references were kept")

    monkeypatch.setattr(audibility, "replay", no_replay)
    read_back = audibility.audible_references(p335_call, stereo=True)
    assert read_back.keys() == replayed.keys()
    for call_id, reference in replayed.items():
        for speaker in reference.labels():
            kept = read_back[call_id].label_timeline(speaker).duration()
            assert kept == pytest.approx(reference.label_timeline(speaker).duration(), abs=0.01)
