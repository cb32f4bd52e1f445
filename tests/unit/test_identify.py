"""Naming enrolled voices in a result (issue #23): matching, renaming everywhere, roles, statistics."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from diarize_service.pipeline.diarization.voiceprints import Voiceprint
from diarize_service.pipeline.output import identify as identify_module
from diarize_service.pipeline.output.identify import (
    AMBIGUITY_MARGIN,
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


@pytest.fixture(autouse=True)
def plain_cosine(monkeypatch):
    """These small vectors are scored as they are; the shipped space is for 192-value CAM++ prints."""
    monkeypatch.setattr(identify_module, "shipped_space", lambda: None)


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
    scores = identify_module.similarities(
        {f"S{i}": Voiceprint(norm(v), 10.0) for i, v in enumerate(speakers)},
        [voice(f"V{j}", norm(v)) for j, v in enumerate(enrolled)],
    )
    for m in found:  # a named speaker's best voice is clearly its best
        row = np.sort(scores[int(m.label[1:])])[::-1]
        assert len(row) == 1 or row[0] - row[1] >= AMBIGUITY_MARGIN
    assert [m.similarity for m in found] == sorted((m.similarity for m in found), reverse=True)


def test_a_speaker_between_two_voices_that_sound_alike_is_not_named():
    alike = [voice("Thandi", unit(1, 0.30)), voice("Zola", unit(1, 0.36))]
    assert match_voices(prints(S=unit(1, 0.33)), alike, threshold=0.5) == []
    found = match_voices(prints(S=unit(1, 0.33)), alike, threshold=0.5, margin=0.0)
    assert [m.voice.name for m in found] == ["Zola"]


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
    stereo = call(("Agent", "Customer"), "split")
    stereo["languages"] = {name: {"language": "en", "probability": 0.9} for name in ("Agent", "Customer")}
    result, names = identify(
        stereo,
        prints(Agent=unit(1, 0), Customer=unit(0, 1)),
        [voice("Thandi", unit(1, 0), role="supervisor")],
        0.6,
    )
    assert names == {"Agent": "Thandi"}
    assert result["speakers"]["Thandi"]["role"] == "Agent"
    assert result["transcript"].startswith("Thandi [")
    assert set(result["languages"]) == {"Thandi", "Customer"}  # per channel (issue #22): its new label


def test_a_name_another_speaker_already_has_is_not_given():
    result, names = identify(
        call(("Agent", "Customer"), "split"),
        prints(Agent=unit(1, 0), Customer=unit(0, 1)),
        [voice("Customer", unit(1, 0))],
        0.6,
    )
    assert names == {} and set(result["speakers"]) == {"Agent", "Customer"}


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


def three_speaker_call(labels=("Speaker_01", "Speaker_02", "Speaker_03"), channel_mode="mixed") -> dict:
    """Speaker_01 and Speaker_03 are one person split by the diarizer; Speaker_02 is the customer."""
    turns = [
        Turn("A", [Word(0.0, 2.0, " Good morning.", 0.9, "A")]),
        Turn("B", [Word(2.5, 3.5, " Hi", 0.9, "B")]),
        Turn("C", [Word(3.0, 6.0, " How can I help?", 0.9, "C")]),  # interrupts the customer
        Turn("B", [Word(6.5, 7.0, " Thanks", 0.9, "B")]),
    ]
    return build_result(
        language=("en", 0.9),
        turns=turns,
        names=dict(zip("ABC", labels, strict=True)),
        diarization=[
            SpeakerTurn(0.0, 2.0, "A"),
            SpeakerTurn(2.5, 3.5, "B"),
            SpeakerTurn(3.0, 6.0, "C"),
            SpeakerTurn(6.5, 7.0, "B"),
        ],
        audio_duration=8.0,
        processing_time=0.1,
        models={},
        stage_seconds={},
        channel_mode=channel_mode,
    )


def test_a_person_the_diarizer_split_in_two_is_joined_under_the_one_name():
    before = three_speaker_call()
    voices = [voice("Thandi", unit(1, 0), role="agent"), voice("Sipho", unit(0, 0, 1))]
    halves = prints(Speaker_01=unit(1, 0.05), Speaker_02=unit(0, 1), Speaker_03=unit(1, 0.3))
    result, names = identify(before, halves, voices, threshold=0.6)
    assert names == {"Speaker_01": "Thandi", "Speaker_03": "Thandi"}
    assert result["identified"]["Thandi"]["joined"] == ["Speaker_03"]
    assert result["total_speakers"] == 2 and set(result["speakers"]) == {"Thandi", "Speaker_02"}
    thandi = result["speakers"]["Thandi"]
    assert thandi["total_duration"] == pytest.approx(2.0 + 3.0) and thandi["segment_count"] == 2
    assert thandi["role"] == "agent"
    assert sum(s["percentage"] for s in result["speakers"].values()) == pytest.approx(100.0, abs=0.02)
    assert set(result["analytics"]["speakers"]) == {"Thandi", "Speaker_02"}
    assert result["analytics"]["speakers"]["Thandi"]["talk_time"] == pytest.approx(5.0)
    assert result["analytics"]["interruptions"] == [
        {"time": 3.0, "interrupter": "Thandi", "interrupted": "Speaker_02"}
    ]
    assert "Speaker_03" not in shown_labels(result) and "Speaker_01" not in shown_labels(result)


def test_no_join_that_would_leave_a_call_with_one_speaker_or_cross_channels():
    both = prints(Speaker_01=unit(1, 0.05), Speaker_02=unit(1, 0.3))
    result, names = identify(call(), both, [voice("Thandi", unit(1, 0))], threshold=0.6)
    assert names == {"Speaker_01": "Thandi"} and result["total_speakers"] == 2
    split, names = identify(  # a supervisor on the agent's line sounds like the agent: still two people
        three_speaker_call(("Agent", "Customer", "Agent_2"), "split"),
        prints(Agent=unit(1, 0.05), Customer=unit(0, 1), Agent_2=unit(1, 0.3)),
        [voice("Thandi", unit(1, 0))],
        threshold=0.6,
    )
    assert names == {"Agent": "Thandi"} and "joined" not in split["identified"]["Thandi"]


def test_a_half_that_is_unsure_or_too_far_is_not_joined():
    voices = [voice("Thandi", unit(1, 0)), voice("Zola", unit(1, 0.2))]  # two voices that sound alike
    unsure = prints(Speaker_01=unit(1, -0.3), Speaker_02=unit(0, 1), Speaker_03=unit(1, 0.08))
    result, names = identify(three_speaker_call(), unsure, voices, threshold=0.6)
    assert names == {"Speaker_01": "Thandi"} and result["total_speakers"] == 3
    far = prints(Speaker_01=unit(1, 0.05), Speaker_02=unit(0, 1), Speaker_03=unit(1, 1.5))
    result, names = identify(three_speaker_call(), far, [voice("Thandi", unit(1, 0))], threshold=0.6)
    assert names == {"Speaker_01": "Thandi"} and result["total_speakers"] == 3


def test_a_joined_speaker_keeps_the_print_taken_from_more_speech():
    from diarize_service.jobs.identification import prints_by_shown_label

    raw = {"Speaker_01": {"seconds": 40.0}, "Speaker_02": {"seconds": 9.0}, "Speaker_03": {"seconds": 12.0}}
    joined = {"Speaker_01": "Thandi", "Speaker_03": "Thandi"}
    assert prints_by_shown_label(raw, joined) == {"Thandi": {"seconds": 40.0}, "Speaker_02": {"seconds": 9.0}}
    reverse = dict(reversed(list(raw.items())))
    assert prints_by_shown_label(reverse, joined)["Thandi"] == {"seconds": 40.0}


def test_the_setting_defaults_to_the_benched_threshold():
    """VOICE_MATCH_THRESHOLD's default is written twice (settings must not import the pipeline)."""
    from diarize_service.config import Settings
    from diarize_service.pipeline.output.identify import MATCH_THRESHOLD

    assert Settings(_env_file=None).voice_match_threshold == MATCH_THRESHOLD
