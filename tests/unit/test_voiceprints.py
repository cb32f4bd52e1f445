"""Voiceprints (issue #23): which speech a print is taken from, the space prints are compared in, pooling."""

from __future__ import annotations

import json

import numpy as np
import pytest

from diarize_service.pipeline.diarization.scoring_space import ScoringSpace, fit_space, shipped_space
from diarize_service.pipeline.diarization.voiceprints import (
    Voiceprint,
    dominant_voiceprint,
    pooled,
    renamed,
    speaker_voiceprints,
    telephone_line,
)
from diarize_service.pipeline.output.identify import match_voices
from diarize_service.pipeline.types import SpeakerTurn

from .test_identify import DIM, prints, unit, voice


def test_a_voiceprint_is_taken_from_the_speakers_own_longest_stretches():
    rate = 100
    audio = np.concatenate([np.full(10 * rate, 1.0), np.full(10 * rate, 2.0)]).astype(np.float32)
    turns = [
        SpeakerTurn(0.0, 4.0, "A"),
        SpeakerTurn(4.0, 4.3, "B"),  # too short to say anything about a voice
        SpeakerTurn(4.3, 6.0, "A"),
        SpeakerTurn(10.0, 13.0, "B"),
        SpeakerTurn(13.0, 20.0, "A"),
    ]
    seen: list[np.ndarray] = []

    def embed(wave: np.ndarray) -> np.ndarray:
        seen.append(wave)
        return np.array([wave.mean(), 1.0, 0.0])  # says which samples it was given

    found = speaker_voiceprints(audio, turns, embed, sample_rate=rate, max_seconds=9.0)
    assert set(found) == {"A", "B"}
    # A: its 7 s and 4 s stretches reach 9 s; the 1.7 s one is left out; in time order
    assert found["A"].seconds == pytest.approx(11.0) and len(seen[0]) == 11 * rate
    assert seen[0][0] == 1.0 and seen[0][-1] == 2.0
    assert found["B"].seconds == pytest.approx(3.0) and set(seen[1].tolist()) == {2.0}
    assert all(np.linalg.norm(vp.embedding) == pytest.approx(1.0) for vp in found.values())
    assert dominant_voiceprint(found) is found["A"] and dominant_voiceprint({}) is None
    assert renamed(found, {"A": "Speaker_02"}).keys() == {"Speaker_02", "B"}


def test_similarities_take_the_common_direction_off():
    common = unit(1, 0, 0, 0)
    a, b = unit(1, 0.2, 0, 0), unit(1, 0, 0.2, 0)  # two voices: close in plain cosine
    assert float(a @ b) > 0.95
    off = ScoringSpace.centered_only(common * float(a @ common))
    moved = off.project(np.stack([a, b]))
    assert float(moved[0] @ moved[1]) == pytest.approx(0.0, abs=1e-9)
    found = match_voices(prints(S=a), [voice("V", b)], threshold=0.5, space=ScoringSpace.plain(DIM))
    assert [m.voice.name for m in found] == ["V"]
    assert match_voices(prints(S=a), [voice("V", b)], threshold=0.5, space=off) == []


def test_the_directions_one_person_varies_along_count_for_less():
    # two people, each heard on two lines that move the print along axis 2; they differ along axes 0/1
    thandi = [unit(1, 0, 0.5), unit(1, 0, -0.5)]
    sipho = [unit(0, 1, 0.5), unit(0, 1, -0.5)]
    space = fit_space([np.stack(thandi), np.stack(sipho)], np.zeros(DIM), regularization=0.1)
    assert len(space.directions) == 1 and abs(space.directions[0][2]) == pytest.approx(1.0)
    assert 0.0 < space.factors[0] < 0.5
    same, other = space.project(np.stack([thandi[1], sipho[0]])) @ space.project(thandi[0])[0]
    assert float(thandi[1] @ thandi[0]) == pytest.approx(0.6) and same > 0.9  # one person on two lines
    assert float(sipho[0] @ thandi[0]) == pytest.approx(0.2) and other < 0.2  # two people stay apart
    # speakers heard once say nothing about how a person varies: the space only centers
    alone = fit_space([np.stack([thandi[0]])], np.zeros(DIM))
    assert len(alone.directions) == 0
    back = ScoringSpace.from_json(json.loads(json.dumps(space.to_json())))
    assert np.allclose(back.project(thandi[0]), space.project(thandi[0]), atol=1e-4)


def test_voiceprints_survive_json():
    original = Voiceprint(unit(0.3, -0.2, 0.9), 12.345)
    back = Voiceprint.from_json(json.loads(json.dumps(original.to_json())))
    assert float(back.embedding @ original.embedding) == pytest.approx(1.0, abs=1e-6)
    assert back.seconds == 12.35


def test_an_uploaded_recording_is_heard_as_a_telephone_line_would_carry_it():
    rate = 16_000
    t = np.arange(rate) / rate
    tones = sum(0.2 * np.sin(2 * np.pi * hz * t) for hz in (100, 1000, 6000)).astype(np.float32)
    out = telephone_line(tones, rate)
    assert out.dtype == np.float32 and out.shape == t.shape and np.max(np.abs(out)) <= 1.0
    spectrum = np.abs(np.fft.rfft(out[2000:-2000]))
    freqs = np.fft.rfftfreq(len(out) - 4000, 1 / rate)

    def level(hz: float) -> float:
        return float(spectrum[np.argmin(np.abs(freqs - hz))])

    assert level(100) < 0.1 * level(1000) and level(6000) < 0.01 * level(1000)
    assert not np.any(telephone_line(np.zeros(rate, dtype=np.float32), rate))


def test_the_shipped_space_is_one_of_cam_plus_plus_prints():
    shipped = shipped_space()
    assert shipped is not None and shipped.center.shape == (192,) and np.all(np.isfinite(shipped.center))
    assert shipped.directions.shape[1] == 192 and len(shipped.directions) == len(shipped.factors) > 0
    assert np.allclose(shipped.directions @ shipped.directions.T, np.eye(len(shipped.factors)), atol=1e-3)
    assert np.all((shipped.factors > 0) & (shipped.factors < 1))


def test_samples_of_a_voice_are_pooled_by_their_seconds_of_speech():

    one = pooled([Voiceprint(unit(1, 0), 30.0), Voiceprint(unit(0, 1), 10.0)])
    assert one.seconds == 40.0 and np.linalg.norm(one.embedding) == pytest.approx(1.0)
    assert one.embedding[:2] == pytest.approx(
        unit(3, 1)[:2]
    )  # three parts the longer sample, one the shorter
    assert pooled([Voiceprint(unit(0, 1), 5.0)]).embedding == pytest.approx(unit(0, 1))
