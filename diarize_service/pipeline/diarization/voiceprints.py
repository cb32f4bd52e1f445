"""Voiceprints: one unit CAM++ vector per speaker of a call, to name enrolled voices (issue #23).

The diarizer already pools a duration-weighted centroid of each speaker's
single-speaker stretches (:func:`.reassignment.speaker_centroids`); a
voiceprint is that centroid with the seconds of speech it came from.  The
seconds matter: a print pooled from a two-word answer is too noisy to enrol.

Voiceprints are biometric personal information (POPIA): they travel out of
the processor under :data:`EMBEDDING_KEY`, which the job runner pops before
the result is stored, and are kept as plain numbers beside the job, never
as audio.  Pure numpy, no model imports: the API process builds these too.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..types import SpeakerTurn

# The processor's result carries the call's voiceprints under this key; the runner pops it.
EMBEDDING_KEY = "_speaker_embeddings"
DECIMALS = 5  # float32 CAM++ outputs; 5 decimals change a cosine similarity by < 1e-4


@dataclass(frozen=True)
class Voiceprint:
    embedding: np.ndarray  # unit vector (192 values for CAM++)
    seconds: float  # single-speaker speech it was pooled from

    def to_json(self) -> dict[str, Any]:
        return {
            "embedding": [round(float(x), DECIMALS) for x in self.embedding],
            "seconds": round(self.seconds, 2),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Voiceprint:
        vector = np.asarray(data["embedding"], dtype=np.float64)
        return cls(vector / np.linalg.norm(vector), float(data.get("seconds", 0.0)))


def speaker_seconds(turns: Sequence[SpeakerTurn]) -> dict[str, float]:
    """Seconds each speaker talks in *turns* (exclusive turns: nobody counted twice)."""
    seconds: dict[str, float] = {}
    for turn in turns:
        seconds[turn.speaker] = seconds.get(turn.speaker, 0.0) + turn.end - turn.start
    return seconds


def pooled(parts: Iterable[tuple[np.ndarray | None, float]]) -> Voiceprint | None:
    """One print from several (centroid, seconds): a voice the diarizer split in two is still one voice."""
    kept = [(np.asarray(c, dtype=np.float64), s) for c, s in parts if c is not None and s > 0]
    if not kept:
        return None
    total = sum(s * c for c, s in kept)
    norm = float(np.linalg.norm(total))
    if not np.isfinite(norm) or norm == 0.0:
        return None
    return Voiceprint(total / norm, float(sum(s for _, s in kept)))


def call_voiceprints(
    centroids: Mapping[str, np.ndarray], exclusive_turns: Sequence[SpeakerTurn], names: Mapping[str, str]
) -> dict[str, Voiceprint]:
    """Mixed calls: the diarizer's centroids under the result's speaker names (``Speaker_01``...)."""
    seconds = speaker_seconds(exclusive_turns)
    prints = {}
    for label, centroid in centroids.items():
        found = pooled([(centroid, seconds.get(label, 0.0))])
        if found is not None:
            prints[names.get(label, label)] = found
    return prints


def dominant_voiceprint(
    centroids: Mapping[str, np.ndarray], exclusive_turns: Sequence[SpeakerTurn]
) -> Voiceprint | None:
    """Enrolment from a recording of one voice: the print of whoever talks most in it.

    A stray second voice (someone in the room, a short reply) does not
    pollute the print; it is simply not the one chosen.
    """
    seconds = speaker_seconds(exclusive_turns)
    voiced = [label for label in centroids if seconds.get(label, 0.0) > 0]
    if not voiced:
        return None
    best = max(voiced, key=lambda label: seconds[label])
    return pooled([(centroids[best], seconds[best])])


def prints_to_json(prints: Mapping[str, Voiceprint]) -> dict[str, dict[str, Any]]:
    return {name: vp.to_json() for name, vp in prints.items()}
