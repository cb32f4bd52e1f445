"""Voiceprints: one CAM++ embedding per speaker of a call, to name enrolled voices (issue #23).

A voiceprint is CAM++ run once over a speaker's own speech: its single-speaker
stretches of the call (the longest first, up to :data:`MAX_SECONDS`) cut
out and joined, so that the fbank mean normalisation sees that voice alone.
The diarizer's own centroids were tried first and not kept: they pool
features normalised over the whole file (both parties and the line noise),
so on 8 kHz calls two different people on similar lines scored up to 0.92
cosine, above the same person on two calls (bench/README.md, "Enrolled
voices").

Prints are compared in a :mod:`.scoring_space` learnt from the dev calls
(the common direction of every 8 kHz print taken off, the directions a line
moves one person's print along shrunk); they are stored raw, so a new space
applies to voices enrolled before it.

Voiceprints are biometric personal information (POPIA): they travel out of
the processor under :data:`EMBEDDING_KEY`, which the job runner pops before
the result is stored, and are kept as plain numbers beside the job, never
as audio.  Pure numpy here (the model is passed in as *embed*): the API
process handles prints too and must not import torch.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..types import SpeakerTurn

# The processor's result carries the call's voiceprints under this key; the runner pops it.
EMBEDDING_KEY = "_speaker_embeddings"
DECIMALS = 5  # float32 CAM++ outputs; 5 decimals change a cosine similarity by < 1e-4
MIN_STRETCH_SECONDS = 0.5  # shorter single-speaker stretches are mostly turn edges and overlap
# Of one speaker's speech per print: two minutes say who it is, and bound the cost (CAM++ over the
# speech it is given: +0.017 x real time on 2 cores for calls under two minutes a speaker).
MAX_SECONDS = 120.0


@dataclass(frozen=True)
class Voiceprint:
    embedding: np.ndarray  # unit vector (192 values for CAM++), as the model gave it
    seconds: float  # single-speaker speech it was taken from

    def to_json(self) -> dict[str, Any]:
        return {
            "embedding": [round(float(x), DECIMALS) for x in self.embedding],
            "seconds": round(self.seconds, 2),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Voiceprint:
        return cls(unit(data["embedding"]), float(data.get("seconds", 0.0)))


def unit(vector: Any) -> np.ndarray:
    array = np.asarray(vector, dtype=np.float64)
    return array / np.linalg.norm(array)


def speaker_seconds(turns: Sequence[SpeakerTurn]) -> dict[str, float]:
    """Seconds each speaker talks in *turns* (exclusive turns: nobody counted twice)."""
    seconds: dict[str, float] = {}
    for turn in turns:
        seconds[turn.speaker] = seconds.get(turn.speaker, 0.0) + turn.end - turn.start
    return seconds


def speaker_voiceprints(
    audio: np.ndarray,
    exclusive_turns: Sequence[SpeakerTurn],
    embed: Callable[[np.ndarray], np.ndarray],
    sample_rate: int = 16_000,
    max_seconds: float = MAX_SECONDS,
) -> dict[str, Voiceprint]:
    """Per speaker, *embed* (CAM++ on a waveform) of its longest single-speaker stretches, joined."""
    stretches: dict[str, list[SpeakerTurn]] = {}
    for turn in exclusive_turns:
        if turn.end - turn.start >= MIN_STRETCH_SECONDS:
            stretches.setdefault(turn.speaker, []).append(turn)
    prints = {}
    for speaker, own in stretches.items():
        chosen, total = [], 0.0
        for turn in sorted(own, key=lambda t: t.start - t.end):  # longest first
            if total >= max_seconds:
                break
            chosen.append(turn)
            total += turn.end - turn.start
        chosen.sort(key=lambda t: t.start)
        wave = np.concatenate(
            [audio[int(t.start * sample_rate) : int(t.end * sample_rate)] for t in chosen]
        ).astype(np.float32)
        vector = np.asarray(embed(wave), dtype=np.float64)
        if wave.size and np.all(np.isfinite(vector)) and np.linalg.norm(vector) > 0:
            prints[speaker] = Voiceprint(unit(vector), total)
    return prints


def telephone_line(audio: np.ndarray, sample_rate: int = 16_000) -> np.ndarray:
    """*audio* as a telephone line carries it: 300-3400 Hz at 8 kHz, G.711 μ-law, back at *sample_rate*.

    For enrolment from an uploaded recording: prints are compared across
    channels, and clean 16 kHz recordings of three dev voices scored 0.20-0.60
    against the same voices' 8 kHz calls, 0.52-0.85 once passed through this
    (bench/README.md, "Enrolled voices").  A recording that is a call already
    changes little: its band is already this one.
    """
    from scipy.signal import butter, resample_poly, sosfiltfilt

    narrow = resample_poly(np.asarray(audio, dtype=np.float64), 8_000, sample_rate)
    narrow = sosfiltfilt(butter(4, [300, 3400], btype="bandpass", fs=8_000, output="sos"), narrow)
    peak = float(np.max(np.abs(narrow), initial=0.0))
    if peak > 0:
        narrow *= 0.9 / peak
    mu = 255.0  # G.711: a sign bit and 7 bits of log-compressed magnitude
    level = np.round(np.log1p(mu * np.abs(narrow)) / np.log1p(mu) * 127) / 127
    narrow = np.sign(narrow) * np.expm1(level * np.log1p(mu)) / mu
    return resample_poly(narrow, sample_rate, 8_000).astype(np.float32)


def pooled(prints: Sequence[Voiceprint]) -> Voiceprint:
    """One print from several samples of a voice: their unit vectors weighted by seconds of speech.

    A voice enrolled from calls on different lines and days is the part they
    share: what one line or one mood adds averages out (bench/README.md,
    "Enrolled voices").
    """
    total = sum(p.seconds for p in prints)
    weights = [p.seconds / total if total > 0 else 1.0 for p in prints]
    return Voiceprint(unit(sum(w * p.embedding for w, p in zip(weights, prints, strict=True))), total)


def fingerprint(print_: Voiceprint) -> str:
    """A short key that is the same for the same sample sent twice (one job's speaker, one recording).

    A hash of the rounded print as stored, so a voice can refuse to pool a
    sample it already holds without keeping each sample's print.  The
    models run the same on the same input to well under the rounding, so
    a recording embedded twice gives the same key.
    """
    digest = hashlib.sha256(json.dumps(print_.to_json(), sort_keys=True).encode())
    return digest.hexdigest()[:24]


def dominant_voiceprint(prints: Mapping[str, Voiceprint]) -> Voiceprint | None:
    """Enrolment from a recording of one voice: the print of whoever talks most in it.

    A stray second voice (someone in the room, a short reply) does not
    pollute the print; it is simply not the one chosen.
    """
    return max(prints.values(), key=lambda vp: vp.seconds, default=None)


def renamed(prints: Mapping[str, Voiceprint], names: Mapping[str, str]) -> dict[str, Voiceprint]:
    """*prints* under the labels the result gives the diarizer's speakers (``Speaker_01``...)."""
    return {names.get(label, label): vp for label, vp in prints.items()}


def prints_to_json(prints: Mapping[str, Voiceprint]) -> dict[str, dict[str, Any]]:
    return {name: vp.to_json() for name, vp in prints.items()}
