"""Which word sequences count as Whisper repetition loops (and which repetitions are speech)."""

from __future__ import annotations

from diarize_service.pipeline.loops import Loop, collapse, find_loops


def test_a_digit_repeated_for_a_whole_chunk_is_a_loop():
    words = ["My", "number", "is", *(["6,"] * 40), "thanks."]
    assert find_loops(words) == [Loop(start=3, end=43, period=1)]


def test_a_repeated_short_pattern_is_a_loop_whatever_the_punctuation():
    words = ["1,", "2,"] * 6 + ["1.", "2."]
    assert find_loops(words) == [Loop(start=0, end=14, period=2)]
    assert collapse(words, find_loops(words)) == ["1,", "2,"]


def test_real_repetition_is_not_a_loop():
    assert find_loops(["0,", "0,", "0,", "8,", "2,"]) == []  # "oh oh oh eight two": three times
    assert find_loops(["no"] * 4) == []
    sentence = ["she's", "believed", "to", "be", "in", "south", "africa"]  # a sentence said again and again
    assert find_loops(sentence * 8) == []


def test_collapse_keeps_everything_around_the_loop():
    words = ["a", "b", *(["x", "y"] * 5), "c"]
    assert collapse(words, find_loops(words)) == ["a", "b", "x", "y", "c"]
