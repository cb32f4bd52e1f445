"""Whisper's language evidence for one channel: several windows of its clearest speech.

Faster-whisper decides from the first 30 s after VAD.  On a call that is
often the agent's greeting alone, or a customer's first few words under line
noise, and a single 30 s window of 8 kHz audio is where Whisper base heard
Welsh in a Scottish voice.  Here the evidence is taken from up to
:data:`MAX_WINDOWS` windows of the channel's speech, chosen by level: the
loudest stretches are the party's own voice at its best signal-to-noise
ratio, and echo of the other line, background talk and mumbles (quieter)
are left out.  Each window is one encoder pass; the language decision
itself is :mod:`..language`'s.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..audio import SAMPLE_RATE
from ..language import LanguagePolicy, Window, settled
from .unwritten import speech_spans

WINDOW_SECONDS = 30.0  # what Whisper's encoder hears at once
# Windows per channel: up to 2 minutes of speech.  Each costs one encoder pass (the batched
# decoder's own detection, which it replaces, cost one).
MAX_WINDOWS = 4
# Stretches shorter than this are left out while longer ones remain: clicks, breaths, "mm".
MIN_SPAN = 0.5
# Audio kept around each stretch, so its first and last sounds are whole.
PAD = 0.1


def span_levels(audio: np.ndarray, spans: Sequence[tuple[float, float]]) -> list[float]:
    """Mean power (dB) of *audio* over each span."""
    levels = []
    for start, end in spans:
        piece = audio[int(start * SAMPLE_RATE) : int(end * SAMPLE_RATE)].astype(np.float64)
        levels.append(10.0 * np.log10(np.mean(piece**2) + 1e-12) if len(piece) else -120.0)
    return levels


def choose_spans(
    spans: Sequence[tuple[float, float]],
    levels: Sequence[float],
    budget: float = MAX_WINDOWS * WINDOW_SECONDS,
    min_span: float = MIN_SPAN,
) -> list[tuple[float, float]]:
    """The loudest spans that fit in *budget* seconds, in time order (short ones only if nothing else)."""
    ranked = sorted(range(len(spans)), key=lambda i: -levels[i])
    long_enough = [i for i in ranked if spans[i][1] - spans[i][0] >= min_span]
    chosen, total = [], 0.0
    for i in long_enough or ranked:
        length = spans[i][1] - spans[i][0]
        if total >= budget:
            break
        chosen.append(i)
        total += length
    return [spans[i] for i in sorted(chosen)]


def pack(
    audio: np.ndarray, spans: Sequence[tuple[float, float]], window: float = WINDOW_SECONDS, pad: float = PAD
) -> list[np.ndarray]:
    """The audio of *spans* (each padded), concatenated into pieces of at most *window* seconds."""
    size = int(window * SAMPLE_RATE)
    pieces: list[np.ndarray] = []
    current: list[np.ndarray] = []
    filled = 0
    for start, end in spans:
        clip = audio[max(0, int((start - pad) * SAMPLE_RATE)) : int((end + pad) * SAMPLE_RATE)]
        while len(clip):
            room = size - filled
            current.append(clip[:room])
            filled += len(current[-1])
            clip = clip[room:]
            if filled >= size:
                pieces.append(np.concatenate(current))
                current, filled = [], 0
    if current:
        pieces.append(np.concatenate(current))
    return pieces[:MAX_WINDOWS]


def probe(
    model,
    audio: np.ndarray,
    policy: LanguagePolicy | None = None,
    spans: Sequence[tuple[float, float]] | None = None,
) -> list[Window]:
    """Whisper's language distribution for windows of *audio*'s clearest speech, one at a time.

    *model* is a faster-whisper ``WhisperModel``; *spans* are the speech
    stretches in seconds (Silero's when not given).  With a *policy*, windows
    stop once the evidence is settled (:func:`..language.settled`): a clear
    English channel costs one encoder pass, as the decoder's own detection
    did, and only doubtful ones pay for more.  No speech, no windows.
    """
    from faster_whisper.transcribe import pad_or_trim

    if spans is None:
        spans = speech_spans(audio)
    windows: list[Window] = []
    for piece in pack(audio, choose_spans(spans, span_levels(audio, spans))):
        features = pad_or_trim(model.feature_extractor(piece))
        (result,) = model.model.detect_language(model.encode(features))
        windows.append(Window(len(piece) / SAMPLE_RATE, {token[2:-2]: float(p) for token, p in result}))
        if policy is not None and settled(windows, policy):
            break
    return windows
