"""Turn reassignment: after clustering, each single-speaker stretch is judged on its own voice.

Clustering labels pyannote's (10 s window, local speaker) embeddings.  Inside
a window segmentation-3.0 often puts two people into one local speaker (a
short answer and the question before it), so the window's embedding is a
mixture, and a whole utterance can land with the wrong speaker although its
own voice is clearly someone else's.  On the simulated calls most of the
confusion left after clustering was whole 2-4 s utterances of one of two
similar voices given to the other.

So after clustering, every stretch where exactly one speaker talks for at
least ``MIN_TURN_SECONDS`` gets an embedding of its own (pooled from the same
CAM++ features, so almost free), each speaker a duration-weighted centroid of
its stretches, and a stretch moves to another speaker when that centroid is
closer than its own by more than ``MARGIN`` (cosine distance); a few rounds,
like k-means started from the clustering.  A stretch is compared with its own
speaker's centroid *without itself*: a speaker that the clustering gave
someone else's long utterances is otherwise pulled towards each of them in
turn, and keeps them.  The number of speakers never
changes (a speaker keeps at least one stretch), so speaker-count hints stay
honoured.  Numbers: bench/README.md ("Turn reassignment").

Pure numpy on :class:`SpeakerTurn` lists; the embedding function is passed
in, so this is unit-testable without models.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from ..types import SpeakerTurn

# Tuned on the dev calls (seeds 1-3): 0.3-0.5 s and a margin of 0.05 gave the
# same dev DER; shorter stretches have too few frames for a stable embedding.
MIN_TURN_SECONDS = 0.3
MARGIN = 0.05
ROUNDS = 3


@dataclass(frozen=True)
class Move:
    """Stretch [start, end) moves from speaker *source* to speaker *target*."""

    start: float
    end: float
    source: str
    target: str


def find_moves(
    exclusive_turns: Sequence[SpeakerTurn],
    embed: Callable[[list[tuple[float, float]]], np.ndarray],
    min_seconds: float = MIN_TURN_SECONDS,
    margin: float = MARGIN,
    rounds: int = ROUNDS,
) -> list[Move]:
    """Stretches of *exclusive_turns* whose own voice is clearly another speaker's.

    *embed* maps (start, end) spans to one embedding row each.
    """
    stretches = [t for t in exclusive_turns if t.end - t.start >= min_seconds]
    speakers = sorted({t.speaker for t in stretches})
    if len(speakers) < 2:
        return []
    vectors = embed([(t.start, t.end) for t in stretches])
    vectors = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    weights = np.array([t.end - t.start for t in stretches])
    labels = np.array([speakers.index(t.speaker) for t in stretches])
    for _ in range(rounds):
        updated = _one_round(vectors, weights, labels, len(speakers), margin)
        if np.array_equal(updated, labels):
            break
        labels = updated
    return [
        Move(t.start, t.end, t.speaker, speakers[k])
        for t, k in zip(stretches, labels, strict=True)
        if speakers[k] != t.speaker
    ]


def speaker_centroids(
    exclusive_turns: Sequence[SpeakerTurn],
    embed: Callable[[list[tuple[float, float]]], np.ndarray],
    min_seconds: float = MIN_TURN_SECONDS,
) -> dict[str, np.ndarray]:
    """speaker -> unit, duration-weighted centroid of its stretches of at least *min_seconds*."""
    stretches = [t for t in exclusive_turns if t.end - t.start >= min_seconds]
    if not stretches:
        return {}
    vectors = embed([(t.start, t.end) for t in stretches])
    vectors = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    sums: dict[str, np.ndarray] = {}
    for turn, vector in zip(stretches, vectors, strict=True):
        sums[turn.speaker] = sums.get(turn.speaker, 0) + (turn.end - turn.start) * vector
    return {speaker: total / np.linalg.norm(total) for speaker, total in sums.items()}


def _one_round(
    vectors: np.ndarray, weights: np.ndarray, labels: np.ndarray, num_speakers: int, margin: float
) -> np.ndarray:
    """Move each stretch whose gain clears *margin*, largest gain first, never emptying a speaker.

    Distances to other speakers are to their centroids; to its own speaker, to
    the centroid of that speaker's other stretches (a speaker's only stretch
    stays where it is).
    """
    weighted = vectors * weights[:, None]
    sums = np.zeros((num_speakers, vectors.shape[1]))
    np.add.at(sums, labels, weighted)  # every speaker keeps a stretch
    distance = 1.0 - vectors @ (sums / np.linalg.norm(sums, axis=1, keepdims=True)).T
    rows = np.arange(len(labels))
    others = sums[labels] - weighted
    norms = np.linalg.norm(others, axis=1)
    alone = norms < 1e-9
    own = 1.0 - np.einsum("ij,ij->i", vectors, others / np.where(alone, 1.0, norms)[:, None])
    distance[rows, labels] = np.where(alone, 0.0, own)
    nearest = np.argmin(distance, axis=1)
    gain = distance[rows, labels] - distance[rows, nearest]
    members = Counter(labels.tolist())
    updated = labels.copy()
    for i in np.argsort(-gain):
        if gain[i] <= margin:
            break
        if members[int(labels[i])] > 1:
            members[int(labels[i])] -= 1
            updated[i] = nearest[i]
    return updated


def apply_moves(turns: Sequence[SpeakerTurn], moves: Sequence[Move]) -> list[SpeakerTurn]:
    """*turns* with each moved stretch taken from its source speaker and given to its target.

    Works on overlapping turns as well as exclusive ones.  Where the target
    already talks inside the stretch (overlapped speech in the full output),
    both stay: the move only decides who talks alone.  Target turns that touch
    the moved stretch are joined with it.
    """
    result = list(turns)
    for move in moves:
        pieces = _uncovered(move.start, move.end, [t for t in result if t.speaker == move.target])
        for start, end in pieces:
            result = [*_cut(result, move.source, start, end), SpeakerTurn(start, end, move.target)]
        result = join_touching(result)
    return sorted(result, key=lambda t: (t.start, t.speaker))


def _uncovered(start: float, end: float, covering: list[SpeakerTurn]) -> list[tuple[float, float]]:
    """Parts of [start, end) that no turn in *covering* overlaps."""
    pieces, cursor = [], start
    for turn in sorted(covering, key=lambda t: t.start):
        if turn.end <= cursor or turn.start >= end:
            continue
        if turn.start > cursor:
            pieces.append((cursor, turn.start))
        cursor = max(cursor, turn.end)
    if cursor < end:
        pieces.append((cursor, end))
    return pieces


def _cut(turns: list[SpeakerTurn], speaker: str, start: float, end: float) -> list[SpeakerTurn]:
    """*turns* with *speaker* silent in [start, end)."""
    kept: list[SpeakerTurn] = []
    for turn in turns:
        if turn.speaker != speaker or turn.end <= start or turn.start >= end:
            kept.append(turn)
            continue
        if turn.start < start:
            kept.append(SpeakerTurn(turn.start, start, turn.speaker))
        if turn.end > end:
            kept.append(SpeakerTurn(end, turn.end, turn.speaker))
    return kept


def join_touching(turns: list[SpeakerTurn]) -> list[SpeakerTurn]:
    """Turns of the same speaker that touch or overlap, joined (sorted by speaker, then time)."""
    joined: list[SpeakerTurn] = []
    for turn in sorted(turns, key=lambda t: (t.speaker, t.start)):
        last = joined[-1] if joined else None
        if last is not None and last.speaker == turn.speaker and turn.start <= last.end:
            joined[-1] = SpeakerTurn(last.start, max(last.end, turn.end), last.speaker)
        else:
            joined.append(turn)
    return joined
