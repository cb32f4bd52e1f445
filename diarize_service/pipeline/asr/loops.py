"""Words Whisper made up rather than heard: find them, so the ASR stage can decode again.

Two shapes, both seen on read-out digits in line noise:

* **Loops.** Whisper ``base`` in the batched pipeline (greedy, no temperature
  fallback) repeats a short pattern: "6, 6, 6, ..." for a whole 30 s chunk, or
  "1, 2, 1, 2, ...".  On the 30 stereo dev and benchmark calls every loop of a
  short pattern was one of those; decoding the looping stretch again,
  sequentially with temperature fallback, brought those channels' WER from
  118 / 117 / 90 % to 39 / 55 / 84 % (bench/README.md, "WER").  Only short
  patterns count (``MAX_PERIOD`` words): people do repeat a sentence, and the
  simulated calls repeat whole sentences many times, but nobody says the same
  one to five words five times in a row.
* **Stacked repeats.** Text with no audio under it gets word times that do
  not move: float16 decoding (``DEVICE=cuda``, and float32 on CPU) gave a
  50-word run of digits ("8, 0, 3, 6, 8, 0, 3, 6, 8, 0, 2, 1, ...": a loop
  too long for ``MAX_PERIOD``) that all start and end at 103.88 s on a
  benchmark call's customer channel, while the agent was talking; its words
  cost that call 19 points of word attribution.  Stacked times alone are not
  enough: Whisper also stacks the real last words of a 30 s window ("She's
  believed to be in South Africa." at one instant, probability 0.98), and
  decoding those again lost words.  So a stack counts only when it also
  repeats itself: at most half of its words distinct.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MAX_PERIOD = 5  # words in the repeated pattern
MIN_REPEATS = 5  # times it must repeat back to back
MIN_STACKED = 5  # words whose start times ...
MAX_STACK_SECONDS = 0.2  # ... all fall within this span (a spoken word takes 0.1 s at least)
MAX_STACK_DISTINCT = 0.5  # ... and of which at most this share are distinct

_NOT_A_WORD_CHAR = re.compile(r"[^\w']")


@dataclass(frozen=True)
class Stretch:
    """Words ``[start, end)`` of a sequence that Whisper made up."""

    start: int  # index of the first word
    end: int  # one past its last word
    keep: int  # words worth keeping from its start: one repetition of a loop, none of stacked words


def token(word: str) -> str:
    """What counts as "the same word": case and punctuation ("6," and "6." are one)."""
    return _NOT_A_WORD_CHAR.sub("", word.lower())


def find_loops(
    words: list[str], max_period: int = MAX_PERIOD, min_repeats: int = MIN_REPEATS
) -> list[Stretch]:
    """Stretches where a pattern of at most *max_period* words repeats at least *min_repeats* times."""
    tokens = [token(w) for w in words]
    loops: list[Stretch] = []
    i = 0
    while i < len(tokens):
        best: Stretch | None = None
        for period in range(1, max_period + 1):
            pattern = tokens[i : i + period]
            if len(pattern) < period or not all(pattern):
                break
            end = i + period
            while tokens[end : end + period] == pattern:
                end += period
            repeats = (end - i) // period
            if repeats >= min_repeats and (best is None or end - i > best.end - best.start):
                best = Stretch(i, end, keep=period)
        if best is None:
            i += 1
        else:
            loops.append(best)
            i = best.end
    return loops


def find_stacked(
    words: list[str],
    starts: list[float],
    min_words: int = MIN_STACKED,
    max_seconds: float = MAX_STACK_SECONDS,
    max_distinct: float = MAX_STACK_DISTINCT,
) -> list[Stretch]:
    """Runs of at least *min_words* consecutive words that all start within *max_seconds* and repeat.

    *starts* are the words' start times, in order.  A run grows while the next
    word still starts within *max_seconds* of the run's first word; it counts
    when at most *max_distinct* of its words are distinct.
    """
    stacked: list[Stretch] = []
    i = 0
    while i < len(starts):
        end = i + 1
        while end < len(starts) and starts[end] - starts[i] <= max_seconds:
            end += 1
        distinct = len({token(w) for w in words[i:end]})
        if end - i >= min_words and distinct <= max_distinct * (end - i):
            stacked.append(Stretch(i, end, keep=0))
            i = end
        else:
            i += 1
    return stacked


def merge(stretches: list[Stretch]) -> list[Stretch]:
    """Overlapping stretches as one, sorted; a stretch that stacked words touch keeps nothing."""
    merged: list[Stretch] = []
    for s in sorted(stretches, key=lambda s: s.start):
        if merged and s.start < merged[-1].end:
            last = merged[-1]
            keep = 0 if 0 in (last.keep, s.keep) else last.keep
            merged[-1] = Stretch(last.start, max(last.end, s.end), keep)
        else:
            merged.append(s)
    return merged


def collapse(items: list, stretches: list[Stretch]) -> list:
    """Drop what each stretch does not keep: the last resort when decoding again still makes words up."""
    drop = {j for s in stretches for j in range(s.start + s.keep, s.end)}
    return [item for j, item in enumerate(items) if j not in drop]
