"""DER of a result's turns against a reference, for the real-model tests."""

from __future__ import annotations

from pyannote.core import Annotation, Segment
from pyannote.metrics.diarization import DiarizationErrorRate


def as_annotation(turns) -> Annotation:
    ann = Annotation()
    for t in turns:
        ann[Segment(t["start"], t["end"])] = t["speaker"]
    return ann


def der(reference: Annotation, turns, collar: float = 0.25) -> float:
    return DiarizationErrorRate(collar=collar)(reference, as_annotation(turns))
