"""Voices inside one channel of a split call: which voice is the party, a second person, or background."""

from __future__ import annotations

import numpy as np
import pytest

from diarize_service.pipeline.channels.regions import FRAME, Region
from diarize_service.pipeline.channels.voices import (
    BACKGROUND,
    PARTY,
    SECOND,
    VoiceProfile,
    classify_voices,
    label_regions,
    profile_voices,
    restrict,
    voice_at,
)
from diarize_service.pipeline.types import SpeakerTurn

STEP = FRAME / 16_000


def unit(cosine_to_first_axis: float, axis: int = 1) -> np.ndarray:
    """A unit vector whose cosine with e0 is *cosine_to_first_axis*."""
    v = np.zeros(8)
    v[0] = cosine_to_first_axis
    v[axis] = np.sqrt(1 - cosine_to_first_axis**2)
    return v


MAIN = VoiceProfile(seconds=40.0, loud_db=-20.0, centroid=unit(1.0))


def test_a_distinct_voice_as_loud_as_the_party_is_a_second_person():
    roles = classify_voices({"A": MAIN, "B": VoiceProfile(10.0, -21.0, unit(0.5))})
    assert roles == {"A": PARTY, "B": SECOND}


def test_a_distinct_voice_far_below_the_party_is_background_talk():
    roles = classify_voices({"A": MAIN, "B": VoiceProfile(10.0, -32.0, unit(0.5))})
    assert roles["B"] == BACKGROUND


@pytest.mark.parametrize(
    "other",
    [
        VoiceProfile(10.0, -20.0, unit(0.9)),  # too close: one person split in two clusters
        VoiceProfile(1.0, -20.0, unit(0.5)),  # too little speech to call it a person
        VoiceProfile(10.0, -28.0, unit(0.5)),  # 8 dB down: neither on the line nor far off
        VoiceProfile(10.0, -40.0, None),  # no stretch long enough to embed: no evidence
    ],
)
def test_anything_else_stays_the_party(other):
    assert classify_voices({"A": MAIN, "B": other})["B"] == PARTY


def test_the_party_is_the_voice_with_most_speech():
    roles = classify_voices({"B": VoiceProfile(10.0, -20.0, unit(0.5)), "A": MAIN})
    assert roles["A"] == PARTY


def test_the_party_is_the_voice_that_sounds_longest_not_the_one_whose_turns_span_most():
    """A supervisor reading out digits: their turns span the pauses between the digits."""
    agent = VoiceProfile(20.0, -20.0, unit(1.0), sounding=16.0)
    digits = VoiceProfile(22.0, -20.0, unit(0.5), sounding=9.0)
    assert classify_voices({"digits": digits, "agent": agent}) == {"agent": PARTY, "digits": SECOND}


def test_profiles_count_the_frames_that_sound_above_the_noise_floor():
    """Digits 0.3 s long with 0.5 s pauses at the floor (-60 dB): 3.2 s of turn, 1.2 s of sound."""
    levels = np.full(500, -60.0)
    for start in (1.0, 1.8, 2.6, 3.4):
        levels[int(start / STEP) : int((start + 0.3) / STEP)] = -25.0
    profiles = profile_voices([Region(1.0, 4.2)], [SpeakerTurn(1.0, 4.2, "A")], {}, levels)
    assert profiles["A"].seconds == pytest.approx(3.2)
    assert profiles["A"].sounding == pytest.approx(1.2, abs=0.04)  # a frame either way at the edges


def test_a_hint_of_two_speakers_keeps_one_voice_per_channel_but_still_drops_background():
    profiles = {
        "A": MAIN,
        "B": VoiceProfile(10.0, -20.0, unit(0.5)),
        "C": VoiceProfile(5.0, -35.0, unit(0.4, axis=2)),
    }
    assert classify_voices(profiles, allow_second=False) == {"A": PARTY, "B": PARTY, "C": BACKGROUND}


def test_further_candidates_join_the_nearer_of_party_and_second_voice():
    second = unit(0.5, axis=1)
    near_second = second * 0.95 + unit(0.0, axis=2) * np.sqrt(1 - 0.95**2)
    profiles = {
        "A": MAIN,
        "B": VoiceProfile(20.0, -20.0, second),
        "C": VoiceProfile(5.0, -20.0, near_second / np.linalg.norm(near_second)),
    }
    assert classify_voices(profiles) == {"A": PARTY, "B": SECOND, "C": SECOND}


def test_profiles_count_speech_and_level_inside_the_regions_only():
    levels = np.full(500, -60.0)  # 10 s of 20 ms frames
    levels[int(2 / STEP) : int(4 / STEP)] = -20.0
    regions = [Region(2.0, 4.0)]
    turns = [SpeakerTurn(0.0, 3.0, "A"), SpeakerTurn(3.0, 9.0, "B")]
    profiles = profile_voices(regions, turns, {"A": unit(1.0)}, levels)
    assert profiles["A"].seconds == pytest.approx(1.0)
    assert profiles["B"].seconds == pytest.approx(1.0)
    assert profiles["A"].loud_db == pytest.approx(-20.0)
    assert profiles["B"].centroid is None


def test_regions_are_cut_by_voice_and_background_is_left_out():
    regions = [Region(0.0, 4.0), Region(5.0, 6.0), Region(7.0, 8.0)]
    turns = [
        SpeakerTurn(0.2, 1.0, "A"),
        SpeakerTurn(1.4, 3.0, "B"),
        SpeakerTurn(3.0, 3.8, "A"),
        SpeakerTurn(5.0, 6.0, "C"),
    ]
    roles = {"A": PARTY, "B": SECOND, "C": BACKGROUND}
    assert label_regions(regions, turns, roles) == [
        SpeakerTurn(0.0, 1.2, PARTY),  # region start to the middle of the 1.0-1.4 gap
        SpeakerTurn(1.2, 3.0, SECOND),
        SpeakerTurn(3.0, 4.0, PARTY),  # to the region's end
        SpeakerTurn(7.0, 8.0, PARTY),  # no diarized turn at all: the party
    ]


def test_voices_are_kept_only_inside_the_final_regions():
    spans = [SpeakerTurn(0.0, 2.0, PARTY), SpeakerTurn(2.0, 3.0, SECOND), SpeakerTurn(5.0, 9.0, PARTY)]
    regions = [Region(1.0, 2.5), Region(6.0, 7.0), Region(8.5, 12.0)]  # 0-1 and 7-8.5: hold music
    assert restrict(spans, regions) == [
        SpeakerTurn(1.0, 2.0, PARTY),
        SpeakerTurn(2.0, 2.5, SECOND),
        SpeakerTurn(6.0, 7.0, PARTY),
        SpeakerTurn(8.5, 9.0, PARTY),
    ]


def test_words_take_the_voice_of_their_span():
    spans = [SpeakerTurn(0.0, 1.0, PARTY), SpeakerTurn(1.0, 2.0, SECOND), SpeakerTurn(5.0, 6.0, PARTY)]
    assert voice_at(spans, 1.2, 1.6) == SECOND
    assert voice_at(spans, 2.0, 2.3) == SECOND  # middle 0.15 s past the span: word-time drift
    assert voice_at(spans, 3.0, 3.5) is None  # background talk that was dropped


def test_without_voice_centroids_the_channel_is_not_diarized():
    """A hub pipeline keeps no CAM++ features: the channel is all the party, at no extra cost."""
    from diarize_service.pipeline.audio import decode
    from diarize_service.pipeline.channels.voices import channel_voices
    from tests.conftest import DATA

    rng = np.random.default_rng(0)
    party = decode(DATA / "utterances/vctk/p301_102.wav", sample_rate=16_000)
    silence = np.zeros(16_000)
    customer = np.concatenate([silence, 0.3 * party / np.abs(party).max(), silence])
    customer = customer + 1e-4 * rng.standard_normal(len(customer))
    agent = 1e-4 * rng.standard_normal(len(customer))

    class HubPipeline:
        gives_centroids = False

        def __call__(self, *args, **kwargs):
            raise AssertionError("diarized although no voice can be told apart")

    spans = channel_voices(np.stack([agent, customer]).astype(np.float32), 1, HubPipeline())
    assert spans and {s.speaker for s in spans} == {PARTY}
