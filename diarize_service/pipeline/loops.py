"""Whisper's repetition loops on read-out numbers: find them, so the ASR stage can decode again.

Whisper ``base`` in the batched pipeline (greedy, no temperature fallback)
falls into loops on digits read out one by one in line noise: "6, 6, 6, ..."
for a whole 30 s chunk, or "1, 2, 1, 2, ...".  On the 30 stereo dev and
benchmark calls every loop of a short pattern was one of those; decoding the
looping stretch again, sequentially with temperature fallback, brought those
channels' WER from 118 / 117 / 90 % to 39 / 55 / 84 % (bench/README.md, "WER").

Only short patterns count (``MAX_PERIOD`` words): people do repeat a sentence,
and the simulated calls repeat whole sentences many times, but nobody says the
same one to five words five times in a row.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MAX_PERIOD = 5  # words in the repeated pattern
MIN_REPEATS = 5  # times it must repeat back to back

_NOT_A_WORD_CHAR = re.compile(r"[^\w']")


@dataclass(frozen=True)
class Loop:
    start: int  # index of the first word of the loop
    end: int  # one past its last word
    period: int  # words per repetition


def token(word: str) -> str:
    """What counts as "the same word": case and punctuation ("6," and "6." are one)."""
    return _NOT_A_WORD_CHAR.sub("", word.lower())


def find_loops(words: list[str], max_period: int = MAX_PERIOD, min_repeats: int = MIN_REPEATS) -> list[Loop]:
    """Stretches where a pattern of at most *max_period* words repeats at least *min_repeats* times."""
    tokens = [token(w) for w in words]
    loops: list[Loop] = []
    i = 0
    while i < len(tokens):
        best: Loop | None = None
        for period in range(1, max_period + 1):
            pattern = tokens[i : i + period]
            if len(pattern) < period or not all(pattern):
                break
            end = i + period
            while tokens[end : end + period] == pattern:
                end += period
            repeats = (end - i) // period
            if repeats >= min_repeats and (best is None or end - i > best.end - best.start):
                best = Loop(i, end, period)
        if best is None:
            i += 1
        else:
            loops.append(best)
            i = best.end
    return loops


def collapse(items: list, loops: list[Loop]) -> list:
    """Keep one repetition of each loop: the last resort when decoding again still loops."""
    drop = {j for loop in loops for j in range(loop.start + loop.period, loop.end)}
    return [item for j, item in enumerate(items) if j not in drop]
