"""Scoring helpers for the real-model tests: DER of a result's turns, a simulated call's read-out digits."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

from pyannote.core import Annotation, Segment
from pyannote.metrics.diarization import DiarizationErrorRate


def as_annotation(turns) -> Annotation:
    ann = Annotation()
    for t in turns:
        ann[Segment(t["start"], t["end"])] = t["speaker"]
    return ann


def der(reference: Annotation, turns, collar: float = 0.25) -> float:
    return DiarizationErrorRate(collar=collar)(reference, as_annotation(turns))


def read_out_digits(call: Path) -> tuple[list[Segment], list[Segment]]:
    """The customer's read-out digits in a make_calls.py call, and the pauses of 0.25-1 s after them."""
    meta = json.loads(call.with_suffix(".json").read_text())
    said = sorted((s for s in meta["segments"] if s["role"] == "customer"), key=lambda s: s["start"])
    digits = [Segment(s["start"], s["end"]) for s in said if s["speaker"].startswith("fsdd")]
    pauses = [
        Segment(a["end"], b["start"])
        for a, b in itertools.pairwise(said)
        if a["speaker"].startswith("fsdd") and 0.25 <= b["start"] - a["end"] <= 1.0
    ]
    return digits, pauses
