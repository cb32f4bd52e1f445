"""Speech the batched decoder wrote no words for.

Faster-whisper's batched pipeline packs the speech of up to 30 s into one
chunk and decodes it without timestamp tokens.  Whisper then writes what
it heard, but not always every time it heard it: a customer who said the
same sentence seven times in one chunk got it written twice.  The words
that *are*
written get their times from cross-attention, so the speech that was
skipped shows up as voice activity with no word on it.

Those stretches are decoded once more, each in its own chunk, so nothing
else in the chunk competes with it.  On a mono call, the speech the
diarizer heard is checked the same way once diarization is done
(:func:`..processor.heard_by_diarizer`): the batched decoder only decodes what Silero
heard, and Silero misses read-out digits and talk over babble that
segmentation-3.0 hears.  Switching timestamp tokens on instead
kept the repeats but lost whole sentences on AMI meetings (648 -> 538
words on 13 excerpts), and decoding the stretches packed together brought
back the repeats problem (bench/README.md, "WER").
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..audio import SAMPLE_RATE
from ..types import Word

# A stretch of detected speech at least this long with no word on it is decoded again.
# 1.5 s recovered less (split-channel WER 20.6 against 17.9 % on 22 calls); shorter was not
# tried: every stretch costs an encoder pass.
MIN_UNWRITTEN = 1.0
# Speech this close to a written word belongs to that word (its times are approximate).
WORD_MARGIN = 0.3
# Audio kept on each side of a stretch when it is decoded again, so its first and last
# syllables are not cut.
CONTEXT = 0.2
# Whisper hears 30 s at a time; longer stretches are decoded in pieces.
MAX_PIECE = 29.0

# Silero with the batched pipeline's own settings, but no padding: the padding is
# there to give the decoder context, and here it would hide short skipped answers.
VAD = {"max_speech_duration_s": 30, "min_silence_duration_ms": 160, "speech_pad_ms": 0}


def speech_spans(audio: np.ndarray) -> list[tuple[float, float]]:
    """Silero's speech in *audio* (16 kHz mono), in seconds.  About 0.002 x real time."""
    # imported here: the API process imports this module (the processor finds the diarizer's
    # unwritten speech with it) and no model library
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    spans = get_speech_timestamps(audio, VadOptions(**VAD))
    return [(r["start"] / SAMPLE_RATE, r["end"] / SAMPLE_RATE) for r in spans]


def unwritten(
    speech: Sequence[tuple[float, float]],
    words: Sequence[Word],
    min_length: float = MIN_UNWRITTEN,
    margin: float = WORD_MARGIN,
) -> list[tuple[float, float]]:
    """Stretches of *speech* at least *min_length* long that no word (± *margin*) covers."""
    covered = sorted((w.start - margin, w.end + margin) for w in words)
    out: list[tuple[float, float]] = []
    for start, end in speech:
        cursor = start
        for word_start, word_end in covered:
            if word_end <= cursor or word_start >= end:
                continue
            if word_start - cursor >= min_length:
                out.append((cursor, word_start))
            cursor = max(cursor, word_end)
        if end - cursor >= min_length:
            out.append((cursor, end))
    return out


def clips(
    stretches: Sequence[tuple[float, float]], duration: float, context: float = CONTEXT
) -> list[dict[str, float]]:
    """One decoder chunk per stretch (with *context* around it), in ``clip_timestamps`` form."""
    out = []
    for start, end in stretches:
        while end - start > 0:
            piece_end = min(end, start + MAX_PIECE)
            out.append({"start": max(0.0, start - context), "end": min(duration, piece_end + context)})
            start = piece_end
    return out
