"""Which word sequences count as made up by Whisper (loops, stacked words) and which are speech."""

from __future__ import annotations

from diarize_service.pipeline.asr.loops import Stretch, collapse, find_loops, find_stacked, merge


def test_a_digit_repeated_for_a_whole_chunk_is_a_loop():
    words = ["My", "number", "is", *(["6,"] * 40), "thanks."]
    assert find_loops(words) == [Stretch(start=3, end=43, keep=1)]


def test_a_repeated_short_pattern_is_a_loop_whatever_the_punctuation():
    words = ["1,", "2,"] * 6 + ["1.", "2."]
    assert find_loops(words) == [Stretch(start=0, end=14, keep=2)]
    assert collapse(words, find_loops(words)) == ["1,", "2,"]


def test_real_repetition_is_not_a_loop():
    assert find_loops(["0,", "0,", "0,", "8,", "2,"]) == []  # "oh oh oh eight two": three times
    assert find_loops(["no"] * 4) == []
    sentence = ["she's", "believed", "to", "be", "in", "south", "africa"]  # a sentence said again and again
    assert find_loops(sentence * 8) == []


def test_collapse_keeps_everything_around_the_loop():
    words = ["a", "b", *(["x", "y"] * 5), "c"]
    assert collapse(words, find_loops(words)) == ["a", "b", "x", "y", "c"]


def test_repeats_that_all_start_at_one_instant_are_stacked():
    """The float16 case: 50 digits at 103.88 s after real words, a loop too long for find_loops."""
    digits = ["8,", "9,", "0,", "3,", "7,"] + ["8,", "0,", "3,", "6,"] * 2 + ["8,", "0,", "2,", "1,"]
    words = ["6,", "8,", "0,", "2,", *digits, "5."]
    starts = [101.27, 101.39, 101.51, 102.11] + [103.88] * len(digits) + [105.0]
    assert find_loops(words) == []
    assert find_stacked(words, starts) == [Stretch(start=4, end=4 + len(digits), keep=0)]
    assert collapse(words, find_stacked(words, starts)) == ["6,", "8,", "0,", "2,", "5."]


def test_real_words_at_one_instant_are_not_stacked():
    """Whisper stacks the heard last words of a 30 s window too: they do not repeat themselves."""
    sentence = ["She's", "believed", "to", "be", "in", "South", "Africa."]
    assert find_stacked(sentence, [90.18] * len(sentence)) == []
    said_again = sentence + sentence[:2]
    assert find_stacked(said_again, [91.19] * len(said_again)) == []


def test_fast_speech_is_not_stacked():
    """Digits read out at four a second, and a few zero-length words, as Whisper times real speech."""
    digits = ["1,", "2,"] * 20
    assert find_stacked(digits, [0.25 * i for i in range(40)]) == []
    assert find_stacked(digits[:6], [101.27, 101.27, 101.27, 101.27, 101.51, 102.11]) == []  # four, not five
    assert find_stacked(digits[:5], [1.0, 1.1, 1.2, 1.3, 1.45]) == []  # five words in 0.45 s


def test_a_stacked_run_swallows_the_loop_it_overlaps():
    loop, stacked = Stretch(0, 10, keep=2), Stretch(8, 20, keep=0)
    assert merge([stacked, loop]) == [Stretch(0, 20, keep=0)]
    assert merge([Stretch(0, 4, keep=1), Stretch(6, 9, keep=0)]) == [
        Stretch(0, 4, keep=1),
        Stretch(6, 9, keep=0),
    ]
