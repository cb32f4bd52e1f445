"""Naming enrolled voices in a result (issue #23): matching, renaming everywhere, roles, statistics."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from diarize_service.pipeline.diarization.voiceprints import (
    Voiceprint,
    call_voiceprints,
    dominant_voiceprint,
    pooled,
)
from diarize_service.pipeline.output.identify import (
    EnrolledVoice,
    identify,
    match_voices,
    rename_speakers,
    result_labels,
)
from diarize_service.pipeline.output.result import build_result
from diarize_service.pipeline.output.turns import Turn
from diarize_service.pipeline.output.voice_stats import voice_statistics
from diarize_service.pipeline.types import SpeakerTurn, Word

DIM = 8


def unit(*values: float) -> np.ndarray:
    vector = np.zeros(DIM)
    vector[: len(values)] = values
    return vector / np.linalg.norm(vector)


def axis(i: int) -> np.ndarray:
    vector = np.zeros(DIM)
    vector[i] = 1.0
    return vector


def voice(name: str, embedding: np.ndarray, role: str | None = None) -> EnrolledVoice:
    return EnrolledVoice(f"id-{name}", name, role, embedding)


def prints(**vectors: np.ndarray) -> dict[str, Voiceprint]:
    return {label: Voiceprint(v, 30.0) for label, v in vectors.items()}


def call(names=("Speaker_01", "Speaker_02"), channel_mode: str = "mixed") -> dict:
    """A small result in which the two speakers overlap, interrupt and each say something."""
    a, b = names
    turns = [
        Turn("A", [Word(0.0, 0.5, " Good", 0.9, "A"), Word(0.5, 2.0, " morning.", 0.9, "A")]),
        Turn("B", [Word(1.5, 3.0, " Hi", 0.9, "B")]),
        Turn("A", [Word(3.5, 4.0, " Speaker_02", 0.9, "A")]),  # a word that looks like a label stays
    ]
    return build_result(
        language=("en", 0.9),
        turns=turns,
        names={"A": a, "B": b},
        diarization=[SpeakerTurn(0.0, 2.0, "A"), SpeakerTurn(1.5, 3.2, "B"), SpeakerTurn(3.5, 4.0, "A")],
        audio_duration=5.0,
        processing_time=0.1,
        models={},
        stage_seconds={},
        channel_mode=channel_mode,
    )


def shown_labels(value) -> set[str]:
    """Every dict key and every speaker/interrupter/interrupted value anywhere in *value*."""
    if isinstance(value, list):
        return set().union(*(shown_labels(v) for v in value)) if value else set()
    if not isinstance(value, dict):
        return set()
    found = set(value) | {v for k, v in value.items() if k in ("speaker", "interrupter", "interrupted")}
    return found.union(*(shown_labels(v) for v in value.values()))


def test_the_closest_voice_above_the_threshold_names_the_speaker():
    found = match_voices(
        prints(Speaker_01=unit(1, 0.1), Speaker_02=unit(0, 1)),
        [voice("Thandi", unit(1, 0)), voice("Sipho", unit(0.2, 1, 2))],
        threshold=0.6,
    )
    assert [(m.label, m.voice.name) for m in found] == [("Speaker_01", "Thandi")]
    assert found[0].similarity == pytest.approx(float(unit(1, 0.1) @ unit(1, 0)))


def test_one_voice_names_at_most_one_speaker_and_the_closer_one_wins():
    found = match_voices(
        prints(Speaker_01=unit(1, 0.3), Speaker_02=unit(1, 0.1)), [voice("Thandi", unit(1, 0))], threshold=0.5
    )
    assert [(m.label, m.voice.name) for m in found] == [("Speaker_02", "Thandi")]


def test_a_speaker_is_not_given_its_second_best_voice_to_make_room():
    # Speaker_01 is closest to Thandi; an optimal assignment gives it Sipho so that Speaker_02 gets Thandi
    found = match_voices(
        prints(Speaker_01=unit(1, 0.3), Speaker_02=unit(1, -0.5)),
        [voice("Thandi", unit(1, 0)), voice("Sipho", unit(1, 1.2))],
        threshold=0.8,
    )
    assert {m.label: m.voice.name for m in found} == {"Speaker_01": "Thandi"}


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.lists(st.floats(-1, 1), min_size=DIM, max_size=DIM), min_size=1, max_size=5),
    st.lists(st.lists(st.floats(-1, 1), min_size=DIM, max_size=DIM), min_size=1, max_size=5),
    st.floats(-1, 1),
)
def test_matches_are_one_to_one_and_above_the_threshold(speakers, enrolled, threshold):
    def norm(values):
        v = np.array(values) + 1e-3
        return v / np.linalg.norm(v)

    found = match_voices(
        {f"S{i}": Voiceprint(norm(v), 10.0) for i, v in enumerate(speakers)},
        [voice(f"V{j}", norm(v)) for j, v in enumerate(enrolled)],
        threshold,
    )
    assert len({m.label for m in found}) == len(found) == len({m.voice.name for m in found})
    assert all(m.similarity >= threshold for m in found)
    assert [m.similarity for m in found] == sorted((m.similarity for m in found), reverse=True)


def test_renaming_reaches_every_place_a_label_is_shown():
    before = call()
    after = rename_speakers(before, {"Speaker_02": "Thandi"})
    assert "Speaker_02" not in result_labels(after)
    assert "Speaker_02" not in shown_labels(after)  # segments, words, speakers, diarization, analytics
    assert after["transcript"].splitlines()[1].startswith("Thandi [1.50s - 3.00s]: Hi")
    assert after["transcript"].endswith(": Speaker_02")  # the words said are not touched
    assert {w["speaker"] for s in after["segments"] for w in s["words"]} == {"Speaker_01", "Thandi"}
    assert set(after["analytics"]["speakers"]) == {"Speaker_01", "Thandi"}
    assert after["analytics"]["interruptions"] == [
        {"time": 1.5, "interrupter": "Thandi", "interrupted": "Speaker_01"}
    ]
    assert after["speakers"]["Thandi"] == before["speakers"]["Speaker_02"]
    assert before["speakers"].keys() == {"Speaker_01", "Speaker_02"}  # the input is left as it was


@settings(max_examples=30, deadline=None)
@given(st.sampled_from(["Thandi", "Zola", "Agent", "a"]), st.booleans())
def test_renaming_back_gives_the_same_result(name, which):
    before = call()
    label = "Speaker_01" if which else "Speaker_02"
    assert rename_speakers(rename_speakers(before, {label: name}), {name: label}) == before


def test_identify_names_matched_speakers_and_reports_them():
    result, names = identify(
        call(),
        prints(Speaker_01=unit(1, 0.05), Speaker_02=unit(0, 1)),
        [voice("Thandi", unit(1, 0), role="agent"), voice("Sipho", unit(0, 0, 1))],
        threshold=0.6,
    )
    assert names == {"Speaker_01": "Thandi"}
    assert result["identified"] == {"Thandi": {"speaker_id": "id-Thandi", "similarity": pytest.approx(0.999)}}
    assert result["speakers"]["Thandi"]["role"] == "agent"
    assert "role" not in result["speakers"]["Speaker_02"]  # unmatched speakers keep Speaker_NN, no role
    assert result["transcript"].startswith("Thandi [0.00s")


def test_an_unknown_voice_is_not_named():
    result, names = identify(call(), prints(Speaker_01=unit(0, 1)), [voice("Thandi", unit(1, 0))], 0.6)
    assert names == {} and result["identified"] == {}
    assert result["speakers"].keys() == {"Speaker_01", "Speaker_02"}


def test_split_calls_keep_the_channel_label_as_role():
    result, names = identify(
        call(("Agent", "Customer"), "split"),
        prints(Agent=unit(1, 0), Customer=unit(0, 1)),
        [voice("Thandi", unit(1, 0), role="supervisor")],
        0.6,
    )
    assert names == {"Agent": "Thandi"}
    assert result["speakers"]["Thandi"]["role"] == "Agent"
    assert result["transcript"].startswith("Thandi [")


def test_a_name_another_speaker_already_has_is_not_given():
    result, names = identify(
        call(("Agent", "Customer"), "split"),
        prints(Agent=unit(1, 0), Customer=unit(0, 1)),
        [voice("Customer", unit(1, 0))],
        0.6,
    )
    assert names == {} and set(result["speakers"]) == {"Agent", "Customer"}


def test_voiceprints_pool_by_seconds_and_pick_the_main_voice():
    turns = [SpeakerTurn(0, 10, "A"), SpeakerTurn(10, 12, "B"), SpeakerTurn(12, 20, "A")]
    centroids = {"A": axis(0), "B": axis(1)}
    found = call_voiceprints(centroids, turns, {"A": "Speaker_01", "B": "Speaker_02"})
    assert found["Speaker_01"].seconds == 18 and found["Speaker_02"].seconds == 2
    main = dominant_voiceprint(centroids, turns)
    assert main is not None and np.allclose(main.embedding, axis(0)) and main.seconds == 18
    both = pooled([(axis(0), 3.0), (axis(1), 1.0), (None, 5.0)])
    assert both is not None and both.seconds == 4.0
    assert np.allclose(both.embedding, unit(3, 1))
    assert pooled([]) is None and dominant_voiceprint({}, turns) is None


def test_voiceprints_survive_json():
    original = Voiceprint(unit(0.3, -0.2, 0.9), 12.345)
    back = Voiceprint.from_json(json.loads(json.dumps(original.to_json())))
    assert float(back.embedding @ original.embedding) == pytest.approx(1.0, abs=1e-6)
    assert back.seconds == 12.35


def test_statistics_over_the_calls_that_named_a_voice():
    first, _ = identify(call(), prints(Speaker_02=unit(1, 0)), [voice("Thandi", unit(1, 0))], 0.6)
    second, _ = identify(call(), prints(Speaker_01=unit(1, 0)), [voice("Thandi", unit(1, 0))], 0.6)
    other, _ = identify(call(), prints(Speaker_01=unit(1, 0)), [voice("Zola", unit(1, 0))], 0.6)
    stats = voice_statistics([first, second, other, call()], "id-Thandi")
    talk_a, talk_b = 2.5, 1.7  # Speaker_01 and Speaker_02 talk times of one call
    assert stats["calls"] == 2
    assert stats["talk_time"] == pytest.approx(talk_a + talk_b)
    assert stats["listen_time"] == pytest.approx(talk_b + talk_a)
    assert stats["talk_to_listen_ratio"] == pytest.approx(1.0)
    assert (stats["interruptions_made"], stats["interruptions_suffered"]) == (1, 1)
    assert stats["longest_monologue"] == 4.0  # Speaker_01's two turns, 1.5 s apart, are one monologue
    assert voice_statistics([], "id-Thandi")["talk_to_listen_ratio"] is None
