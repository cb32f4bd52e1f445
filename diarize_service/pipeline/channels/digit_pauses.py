"""Pauses between read-out digits: silence inside a read-out number, cut out of a channel's speech.

Where numbers are read out is found from the channel's recognised words
(digit words read by :mod:`..digits`, as redaction reads them); inside such a
number, runs of frames at the line's noise floor are pauses, not talk
(:func:`cut_digit_pauses`).  A mono call's speaker timeline gets the same cut,
speaker by speaker (:func:`cut_turn_digit_pauses`, issue #22).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..digits import digits_in
from ..types import SpeakerTurn, Word
from .regions import FRAME, Region, cut_turns, noise_floor_db, runs_between, subtract

DIGIT_PAUSE_DB = 6.0  # between read-out digits, frames this close to the noise floor are a pause
DIGIT_PAUSE = 0.12  # seconds; a shorter dip is a stop inside a digit ("eight", "six")
DIGIT_JOIN = 1.0  # seconds; digit words this close to each other are one read-out number


def digit_strings(words: Sequence[Word]) -> list[tuple[float, float]]:
    """Where numbers are read out: two or more digit words in a row, each within DIGIT_JOIN of the last.

    One word of several digits ("0825", as Whisper often writes a read-out
    number) counts as a string by itself.
    """
    strings: list[tuple[float, float]] = []
    start = end = 0.0
    count = 0
    for word in sorted(words, key=lambda w: w.start):
        digits = digits_in(word.word)
        if digits is not None and count and word.start - end <= DIGIT_JOIN:
            end, count = max(end, word.end), count + len(digits)
            continue
        if count >= 2:
            strings.append((start, end))
        start, end, count = word.start, word.end, len(digits) if digits is not None else 0
    if count >= 2:
        strings.append((start, end))
    return strings


def cut_digit_pauses(regions: list[Region], levels: np.ndarray, words: Sequence[Word]) -> list[Region]:
    """Cut out of the regions the pauses between read-out digits.

    A customer reading out an ID or account number pauses between digits
    or groups of them, and the VAD, the energy detector's bridging and the
    padding join the whole number into one region; every pause then counts
    as the customer talking (a tenth of a second or more each, past the
    scoring collar).  Inside a read-out number (found from the ASR's words,
    so ordinary sentences, whose pauses are part of the utterance, are left
    alone), each run of DIGIT_PAUSE s or more within DIGIT_PAUSE_DB of the
    line's noise floor is cut.  Split DER c=0.25 on the dev calls: seed 1
    9.5 -> 8.4 %, seed 2 7.3 -> 6.8 % (false alarm 2.5 -> 1.4 and 1.0 -> 0.5 %,
    miss +0.1 and 0); settings from 4-10 dB and 0.08-0.2 s gave the same
    within 0.3 points (bench/README.md, "Pauses between read-out digits").
    """
    strings = digit_strings(words)
    return subtract(regions, pauses_inside(strings, levels)) if strings else regions


def pauses_inside(strings: list[tuple[float, float]], levels: np.ndarray) -> list[tuple[float, float]]:
    """The runs of DIGIT_PAUSE s or more within DIGIT_PAUSE_DB of the noise floor inside *strings*."""
    pause = levels < noise_floor_db(levels) + DIGIT_PAUSE_DB
    min_frames = round(DIGIT_PAUSE * 16_000 / FRAME)
    return [cut for s, e in strings for cut in runs_between(pause, s, e, min_frames)]


def cut_turn_digit_pauses(
    turns: list[SpeakerTurn], levels: np.ndarray, words: Sequence[Word]
) -> list[SpeakerTurn]:
    """The mono timeline with the pauses inside read-out numbers cut out of every speaker's turns.

    Issue #22: the mono path's form of :func:`cut_digit_pauses`, with the
    same thresholds and the mix's frame levels.  The diarizer too joins a
    read-out number into one turn, so each pause counts as the reader talking.
    Mono DER c=0.25 on the dev calls (seeds 1-4, with mixed noise and with
    babble, 48 calls): 9.74 -> 9.50 %, lower on all eight sets
    (bench/README.md, "Pauses between read-out digits in mono calls").
    """
    strings = digit_strings(words)
    if not strings:
        return turns
    pauses = pauses_inside(strings, levels)  # once for the call: every speaker's turns lose the same spans
    return cut_turns(turns, lambda _turn: pauses)
