"""Which speech counts as unwritten, and how it is cut into decoder chunks."""

from __future__ import annotations

import pytest

from diarize_service.pipeline.asr.unwritten import clips, unwritten
from diarize_service.pipeline.processor import heard_by_diarizer
from diarize_service.pipeline.types import SpeakerTurn, Word


def words_at(*spans: tuple[float, float]) -> list[Word]:
    return [Word(start, end, " w", 0.9) for start, end in spans]


def test_speech_with_words_all_through_is_written():
    assert unwritten([(0.0, 5.0)], words_at((0.2, 1.0), (1.2, 2.5), (2.6, 4.8))) == []


def test_a_skipped_repeat_between_written_words_is_found():
    # written 0-2 s and 6-8 s; the repeat at 2.5-5.5 s has no words
    found = unwritten([(0.0, 8.0)], words_at((0.1, 2.0), (6.0, 8.0)))
    assert found == [(2.3, 5.7)]


def test_speech_with_no_word_at_all_is_found_whole():
    assert unwritten([(1.0, 3.0), (4.0, 4.5)], []) == [(1.0, 3.0)]  # 0.5 s is too short


def test_short_unwritten_ends_are_ignored():
    # word times from cross-attention end early: 0.8 s left after the last word is not a skip
    assert unwritten([(0.0, 3.0)], words_at((0.0, 1.9))) == []


def test_clips_carry_context_and_stay_inside_the_audio():
    assert clips([(0.1, 2.0), (5.0, 6.0)], duration=6.1) == [
        {"start": 0.0, "end": 2.2},
        {"start": 4.8, "end": 6.1},
    ]


def test_a_long_stretch_is_cut_into_pieces_whisper_can_hear():
    pieces = clips([(0.0, 70.0)], duration=80.0)
    assert len(pieces) == 3
    assert all(p["end"] - p["start"] <= 30.0 for p in pieces)  # Whisper hears 30 s at a time
    assert pieces[0]["start"] == 0.0 and pieces[-1]["end"] == pytest.approx(70.2)


def test_the_diarizers_speech_is_its_turns_joined_where_they_overlap_or_touch():
    turns = [
        SpeakerTurn(4.0, 6.0, "B"),
        SpeakerTurn(0.0, 2.0, "A"),
        SpeakerTurn(1.5, 3.0, "B"),  # overlaps A's turn
        SpeakerTurn(3.0, 3.5, "A"),  # touches it
        SpeakerTurn(5.0, 5.5, "A"),  # inside B's turn
    ]
    assert heard_by_diarizer(turns) == [(0.0, 3.5), (4.0, 6.0)]
    assert heard_by_diarizer([]) == []
