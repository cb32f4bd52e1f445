"""Word -> speaker assignment with whisperx's ``assign_word_speakers``.

Every word gets the diarization speaker it overlaps most (the nearest speaker
when it overlaps none); :mod:`.turns` then cuts the words into speaker turns.
Runs in the diarization worker, which already imports torch and pyannote.
"""

from __future__ import annotations

import pandas as pd
from whisperx.diarize import assign_word_speakers

from ..types import AsrResult, SpeakerTurn, Word


def label_words(asr: AsrResult, exclusive_turns: list[SpeakerTurn]) -> list[Word]:
    """All recognised words in time order, each with the speaker who said it.

    Uses the *exclusive* diarization (one speaker at a time) so that a word in
    overlapped speech goes to the dominant speaker rather than to both.
    """
    words = [w for seg in asr.segments for w in seg.words]
    if not exclusive_turns:
        for w in words:
            w.speaker = "UNKNOWN"
        return words
    diarize_df = pd.DataFrame(
        [{"start": t.start, "end": t.end, "speaker": t.speaker} for t in exclusive_turns]
    )
    transcript = {
        "segments": [
            {"start": s.start, "end": s.end, "words": [{"start": w.start, "end": w.end} for w in s.words]}
            for s in asr.segments
        ]
    }
    labelled = assign_word_speakers(diarize_df, transcript, fill_nearest=True)
    out: list[Word] = []
    for seg, labelled_seg in zip(asr.segments, labelled["segments"], strict=True):
        for word, labelled_word in zip(seg.words, labelled_seg["words"], strict=True):
            word.speaker = labelled_word.get("speaker", "UNKNOWN")
            out.append(word)
    out.sort(key=lambda w: (w.start, w.end))
    return out
