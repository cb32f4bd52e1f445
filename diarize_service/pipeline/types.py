"""Plain data passed between pipeline stages and processes (no model imports here).

Kept apart from the stage modules so that the API process, which only
assembles results, never imports torch, pyannote or CTranslate2.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Word:
    start: float
    end: float
    word: str
    probability: float
    speaker: str | None = None


@dataclass
class AsrSegment:
    start: float
    end: float
    text: str
    words: list[Word] = field(default_factory=list)


@dataclass
class AsrResult:
    language: str
    language_probability: float
    segments: list[AsrSegment]
    # split calls: the whole call's language and its probability (each channel's may differ)
    call_language: tuple[str, float] | None = None


@dataclass(frozen=True)
class SpeakerTurn:
    start: float
    end: float
    speaker: str


@dataclass(frozen=True)
class DiarizationOutput:
    turns: list[SpeakerTurn]  # may overlap (two people talking at once)
    exclusive_turns: list[SpeakerTurn]  # at most one speaker at a time: for word assignment
    timings: dict[str, float] = field(default_factory=dict)  # seconds per pyannote step
    # speaker -> unit CAM++ centroid (numpy), when asked for (split mode's voices per channel)
    centroids: dict[str, Any] = field(default_factory=dict)
    # speaker -> Voiceprint (issue #23: CAM++ over the speaker's own speech), when asked for
    voiceprints: dict[str, Any] = field(default_factory=dict)
