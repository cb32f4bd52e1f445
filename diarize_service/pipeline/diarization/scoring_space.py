"""Where voiceprints are compared: the common direction taken off, and the line's own directions shrunk.

Two corrections, both learnt once from the dev calls of
``bench/identify_threshold.py`` and shipped in :data:`SPACE_FILE`; prints are
stored raw, so a new space applies to voices enrolled before it.

* **Center.** Every CAM++ print of an 8 kHz call shares a large common
  direction (the telephone band, μ-law, the model itself): raw cosines
  between different people were 0.6-0.9.  The dev calls' mean print is
  taken off first.
* **Within-speaker directions** (within-class covariance normalisation, as
  speaker verification has done since i-vectors).  The same person on two
  calls differs along a few directions, the ones that line noise, babble, a
  partner's leaking words or another mood move a print along.  Those are
  measured as the scatter of each dev speaker's prints around its own mean,
  and each of its directions is shrunk by ``sqrt(r / (variance + r))``, r
  being :data:`REGULARIZATION` times the mean variance: a direction the
  line moves a lot counts for little, and one it never moves keeps its
  weight.  The regularization keeps directions that a few dozen dev
  speakers measured poorly from being blown up.

On the report seeds of bench/identify_threshold.py the within-speaker
directions lowered the best unknown speaker's score against any enrolled
voice (0.65-0.66 → 0.56-0.59) while the same person across calls moved
little; the threshold came down with it (bench/README.md, "Enrolled voices").

Pure numpy: the API process scores prints too and must not import torch.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

SPACE_FILE = Path(__file__).with_name("voiceprint_space.json")
# r = this x the mean within-speaker variance.  Chosen on the dev calls, cross-validated (the space learnt
# without the scored call's speakers): 0.3 named less of the enrolled speech, 1 and 3 the same.
REGULARIZATION = 1.0
KEEP_BELOW = 0.999  # directions shrunk less than this are left out of the shipped file: they change nothing


@dataclass(frozen=True)
class ScoringSpace:
    center: np.ndarray  # (dim,) taken off every print
    directions: np.ndarray  # (k, dim) orthonormal within-speaker directions
    factors: np.ndarray  # (k,) each direction's component is multiplied by this (0-1]

    @classmethod
    def plain(cls, dim: int) -> ScoringSpace:
        """Plain cosine: nothing taken off, nothing shrunk."""
        return cls(np.zeros(dim), np.zeros((0, dim)), np.zeros(0))

    @classmethod
    def centered_only(cls, center: np.ndarray) -> ScoringSpace:
        return cls(np.asarray(center, dtype=np.float64), np.zeros((0, len(center))), np.zeros(0))

    def project(self, vectors: np.ndarray) -> np.ndarray:
        """Rows of *vectors* moved into the space and normalised again: what similarities compare."""
        moved = np.atleast_2d(np.asarray(vectors, dtype=np.float64)) - self.center
        if len(self.factors):
            moved = moved - ((moved @ self.directions.T) * (1.0 - self.factors)) @ self.directions
        return moved / np.linalg.norm(moved, axis=1, keepdims=True)

    def to_json(self) -> dict:
        return {
            "center": [round(float(x), 6) for x in self.center],
            "directions": [[round(float(x), 5) for x in row] for row in self.directions],
            "factors": [round(float(x), 5) for x in self.factors],
        }

    @classmethod
    def from_json(cls, data: dict) -> ScoringSpace:
        center = np.asarray(data["center"], dtype=np.float64)
        directions = np.asarray(data.get("directions", []), dtype=np.float64).reshape(-1, len(center))
        return cls(center, directions, np.asarray(data.get("factors", []), dtype=np.float64))


def fit_space(
    sessions_by_speaker: Sequence[np.ndarray],
    center: np.ndarray,
    regularization: float = REGULARIZATION,
) -> ScoringSpace:
    """The space learnt from several prints (rows, one per call) of each of several speakers.

    Speakers with one print say nothing about how a person varies and are skipped.
    """
    plain = ScoringSpace.centered_only(center)
    groups = [plain.project(rows) for rows in sessions_by_speaker if len(rows) >= 2]
    if not groups:
        return plain
    deviations = np.concatenate([rows - rows.mean(axis=0) for rows in groups])
    scatter = deviations.T @ deviations / len(deviations)
    variances, vectors = np.linalg.eigh(scatter)
    variances = np.clip(variances, 0.0, None)
    floor = regularization * float(variances.mean())
    factors = np.sqrt(floor / (variances + floor)) if floor > 0 else np.ones_like(variances)
    keep = factors < KEEP_BELOW
    return ScoringSpace(plain.center, vectors[:, keep].T, factors[keep])


@cache
def shipped_space() -> ScoringSpace | None:
    """The space in :data:`SPACE_FILE`; None (plain cosine) if the file is missing."""
    if not SPACE_FILE.exists():
        return None
    return ScoringSpace.from_json(json.loads(SPACE_FILE.read_text()))
