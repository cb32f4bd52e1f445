"""Frames and speech regions of one channel: the units the split-stereo filters work in.

A channel is judged in 20 ms frames (``FRAME`` samples at 16 kHz); where its
party speaks is a sorted list of :class:`Region` spans in seconds.  The
helpers here turn frame masks into spans, cut spans out of regions and find
the region a word falls in; :mod:`.speech` and :mod:`.digit_pauses` build on
them.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..types import SpeakerTurn

FRAME = 320  # 20 ms at 16 kHz
MIN_REGION = 0.08  # seconds; what is left of a region after a cut, if shorter, is dropped


@dataclass(frozen=True)
class Region:
    start: float
    end: float
    vad_share: float = 1.0  # how much of the region the VAD took for speech (the rest: energy only)


def frame_levels(channel: np.ndarray) -> np.ndarray:
    """Frame energies in dBFS (20 ms frames)."""
    n = len(channel) // FRAME
    frames = channel[: n * FRAME].reshape(n, FRAME).astype(np.float64)
    return 10 * np.log10(np.mean(frames**2, axis=1) + 1e-12)


def noise_floor_db(levels: np.ndarray) -> float:
    """The line's noise floor: the 20th percentile of its frame levels (a call's quietest fifth)."""
    return float(np.percentile(levels, 20))


def runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """The runs of True in *mask*, as (first index, one past the last) pairs."""
    edges = np.flatnonzero(np.diff(np.concatenate([[False], mask, [False]]).astype(np.int8)))
    return list(zip(edges[::2].tolist(), edges[1::2].tolist(), strict=True))


def runs_between(mask: np.ndarray, start: float, end: float, min_frames: int) -> list[tuple[float, float]]:
    """In seconds: the runs of True in *mask* (20 ms frames) from *start* to *end*, *min_frames* or longer."""
    step = FRAME / 16_000
    lo, hi = int(start / step), min(int(np.ceil(end / step)), len(mask))
    return [((lo + a) * step, (lo + b) * step) for a, b in runs(mask[lo:hi]) if b - a >= min_frames]


def frames_between(levels: np.ndarray, start: float, end: float) -> np.ndarray:
    """The frame levels from *start* to *end* seconds (at least one frame)."""
    step = FRAME / 16_000
    return levels[int(start / step) : max(int(start / step) + 1, int(end / step))]


def union(spans: list[tuple[float, float]]) -> list[tuple[float, float]]:
    merged: list[tuple[float, float]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def subtract(regions: list[Region], cuts: list[tuple[float, float]]) -> list[Region]:
    """*regions* without the *cuts* (sorted spans); pieces shorter than MIN_REGION are dropped."""
    out: list[Region] = []
    for region in regions:
        start = region.start
        for cut_start, cut_end in cuts:
            if cut_end <= start or cut_start >= region.end:
                continue
            if cut_start - start >= MIN_REGION:
                out.append(Region(start, cut_start, region.vad_share))
            start = max(start, cut_end)
        if region.end - start >= MIN_REGION:
            out.append(Region(start, region.end, region.vad_share))
    return out


def cut_turns(
    turns: list[SpeakerTurn], cuts_in: Callable[[SpeakerTurn], list[tuple[float, float]]]
) -> list[SpeakerTurn]:
    """A mono timeline with the spans ``cuts_in(turn)`` cut out of each turn (speakers kept), by start."""
    cut = [
        SpeakerTurn(piece.start, piece.end, turn.speaker)
        for turn in turns
        for piece in subtract([Region(turn.start, turn.end)], cuts_in(turn))
    ]
    return sorted(cut, key=lambda t: (t.start, t.end))


def inside(t0: float, t1: float, regions: list[Region], tolerance: float = 0.2) -> bool:
    """Does the word [t0, t1] overlap one of *regions* (with some tolerance for word-time drift)?

    *regions* sorted by time, without overlaps: a binary search, since every word of a call asks.
    """
    mid = (t0 + t1) / 2
    after = bisect_right(regions, mid + tolerance, key=lambda r: r.start)  # regions[:after] may hold it
    return any(r.start - tolerance <= mid <= r.end + tolerance for r in regions[max(after - 2, 0) : after])
