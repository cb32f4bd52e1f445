"""Word -> speaker assignment and turn building (pure functions, property-tested)."""

from __future__ import annotations

import itertools

from hypothesis import given
from hypothesis import strategies as st

from diarize_service.pipeline.output.assign import label_words
from diarize_service.pipeline.output.turns import build_turns, snap_to_sentence_ends, speaker_names
from diarize_service.pipeline.types import AsrResult, AsrSegment, SpeakerTurn, Word


def w(start: float, end: float, text: str, speaker: str | None = None) -> Word:
    return Word(start, end, text, 0.9, speaker)


def test_words_take_the_speaker_they_overlap_most():
    asr = AsrResult(
        "en",
        1.0,
        [
            AsrSegment(
                0.0,
                4.0,
                "a b c d",
                [w(0.0, 0.9, " a"), w(1.0, 1.9, " b"), w(2.1, 2.9, " c"), w(3.0, 3.9, " d")],
            )
        ],
    )
    turns = [SpeakerTurn(0.0, 2.0, "S0"), SpeakerTurn(2.0, 4.0, "S1")]
    labelled = label_words(asr, turns)
    assert [x.speaker for x in labelled] == ["S0", "S0", "S1", "S1"]


def test_word_outside_any_turn_gets_nearest_speaker():
    asr = AsrResult("en", 1.0, [AsrSegment(0.0, 9.0, "a b", [w(0.0, 0.5, " a"), w(8.0, 8.5, " b")])])
    labelled = label_words(asr, [SpeakerTurn(0.0, 1.0, "S0"), SpeakerTurn(6.0, 7.5, "S1")])
    assert [x.speaker for x in labelled] == ["S0", "S1"]


def test_an_asr_segment_spanning_a_speaker_change_is_split_at_the_word():
    words = [w(0, 1, " Hello.", "A"), w(1.2, 2, " Hi", "B"), w(2.1, 3, " there.", "B")]
    turns = build_turns(words)
    assert [(t.speaker, t.text, t.start, t.end) for t in turns] == [
        ("A", "Hello.", 0, 1),
        ("B", "Hi there.", 1.2, 3),
    ]


def test_long_pause_starts_a_new_turn_for_the_same_speaker():
    words = [w(0, 1, " one", "A"), w(5, 6, " two", "A")]
    assert len(build_turns(words, max_pause=1.5)) == 2
    assert len(build_turns(words, max_pause=10)) == 1


def test_speaker_change_moves_to_the_sentence_end():
    # "... New Jersey. And I'm | Sheila in Texas." -> the reply starts at "And"
    words = [
        w(0, 0.5, " New", "A"),
        w(0.5, 1, " Jersey.", "A"),
        w(1.1, 1.3, " And", "A"),
        w(1.3, 1.5, " I'm", "A"),
        w(1.6, 2, " Sheila", "B"),
        w(2, 2.5, " here.", "B"),
    ]
    snap_to_sentence_ends(words)
    assert [x.speaker for x in words] == ["A", "A", "B", "B", "B", "B"]


def test_speaker_change_forward_to_the_sentence_end():
    # "Neither did | I." -> "I." belongs to the first speaker
    words = [
        w(0, 0.3, " Neither", "A"),
        w(0.3, 0.6, " did", "A"),
        w(0.6, 0.8, " I.", "B"),
        w(0.9, 1.2, " Okay.", "B"),
    ]
    snap_to_sentence_ends(words)
    assert [x.speaker for x in words] == ["A", "A", "A", "B"]


def test_snapping_never_removes_a_whole_turn():
    words = [w(0, 0.3, " yes", "A"), w(0.3, 0.6, " no", "B"), w(0.6, 0.9, " maybe.", "A")]
    snap_to_sentence_ends(words)
    assert [x.speaker for x in words] == ["A", "B", "A"]


def test_speakers_are_numbered_by_first_appearance():
    turns = build_turns([w(0, 1, " a", "SPK_7"), w(1, 2, " b", "SPK_2"), w(2, 3, " c", "SPK_7")])
    names = speaker_names(turns, [SpeakerTurn(0, 3, "SPK_9")])
    assert names == {"SPK_7": "Speaker_01", "SPK_2": "Speaker_02", "SPK_9": "Speaker_03"}


@st.composite
def labelled_words(draw):
    n = draw(st.integers(0, 40))
    t, words = 0.0, []
    for _ in range(n):
        t += draw(st.floats(0.0, 3.0))
        dur = draw(st.floats(0.01, 1.0))
        text = draw(st.sampled_from([" ok", " yes.", " hello", " there?", " mm"]))
        words.append(w(t, t + dur, text, draw(st.sampled_from("ABC"))))
        t += dur
    return words


@given(labelled_words(), st.floats(0.1, 5.0))
def test_turns_partition_the_words_in_order(words, max_pause):
    snap_to_sentence_ends(words)
    turns = build_turns(words, max_pause)
    assert [x for t in turns for x in t.words] == words
    for turn in turns:
        assert len({x.speaker for x in turn.words}) == 1
        assert turn.start <= turn.end
    for a, b in itertools.pairwise(turns):
        assert a.speaker != b.speaker or b.start - a.end > max_pause


@given(labelled_words())
def test_snapping_keeps_every_turn(words):
    before = len(build_turns(words, max_pause=1e9))
    snap_to_sentence_ends(words)
    assert len(build_turns(words, max_pause=1e9)) == before


def test_two_people_talking_at_once_on_their_own_channels_keep_their_sentences_whole():
    from diarize_service.pipeline.output.turns import build_overlapping_turns

    agent = [w(11.5, 11.8, " I", "Agent"), w(11.8, 12.1, " am", "Agent"), w(12.1, 12.4, " sure.", "Agent")]
    customer = [w(11.9, 12.2, " That", "Customer"), w(12.2, 12.5, " is", "Customer")]
    later = [w(15.0, 15.4, " Yes.", "Customer")]
    words = sorted(agent + customer + later, key=lambda x: x.start)

    turns = build_overlapping_turns(words, max_pause=1.5)

    assert [(t.speaker, t.text) for t in turns] == [
        ("Agent", "I am sure."),
        ("Customer", "That is"),
        ("Customer", "Yes."),
    ]
    assert len(build_turns(words, max_pause=1.5)) == 5  # time order alone cuts both at every word


@given(
    st.lists(
        st.tuples(st.floats(0, 100), st.floats(0.05, 1.0), st.sampled_from(["Agent", "Customer", "Agent_2"])),
        max_size=40,
    )
)
def test_overlapping_turns_keep_every_word_once_with_its_speaker(spec):
    from diarize_service.pipeline.output.turns import build_overlapping_turns

    words = sorted(
        (w(start, start + length, f" w{i}", spk) for i, (start, length, spk) in enumerate(spec)),
        key=lambda x: x.start,
    )
    turns = build_overlapping_turns(words)
    assert sorted(id(x) for t in turns for x in t.words) == sorted(id(x) for x in words)
    assert all(x.speaker == t.speaker for t in turns for x in t.words)
    assert [t.start for t in turns] == sorted(t.start for t in turns)
