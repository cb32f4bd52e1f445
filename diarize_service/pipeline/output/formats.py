"""Export a job result as TXT, SRT, WebVTT or RTTM (pure functions).

Subtitles are written with pysubs2 (one cue per speaker turn, prefixed with
the speaker name); RTTM with pyannote.core from the diarizer's timeline, so
it can be scored directly with pyannote.metrics or md-eval.
"""

from __future__ import annotations

import io
from typing import Any

import pysubs2
from pyannote.core import Annotation, Segment

MEDIA_TYPES = {
    "json": "application/json",
    "txt": "text/plain; charset=utf-8",
    "srt": "application/x-subrip; charset=utf-8",
    "vtt": "text/vtt; charset=utf-8",
    "rttm": "text/plain; charset=utf-8",
}


def to_txt(result: dict[str, Any]) -> str:
    return result["transcript"] + "\n"


def _subtitles(result: dict[str, Any]) -> pysubs2.SSAFile:
    subs = pysubs2.SSAFile()
    for seg in result["segments"]:
        subs.append(
            pysubs2.SSAEvent(
                start=pysubs2.make_time(s=seg["start"]),
                end=pysubs2.make_time(s=max(seg["end"], seg["start"] + 0.01)),
                text=f"{seg['speaker']}: {seg['text']}",
                name=seg["speaker"],
            )
        )
    return subs


def to_srt(result: dict[str, Any]) -> str:
    return _subtitles(result).to_string("srt")


def to_vtt(result: dict[str, Any]) -> str:
    return _subtitles(result).to_string("vtt")


def to_rttm(result: dict[str, Any], uri: str = "call") -> str:
    annotation = Annotation(uri=uri)
    for turn in result["diarization"]:
        if turn["end"] > turn["start"]:
            annotation[Segment(turn["start"], turn["end"])] = turn["speaker"]
    buffer = io.StringIO()
    annotation.write_rttm(buffer)
    return buffer.getvalue()


EXPORTERS = {"txt": to_txt, "srt": to_srt, "vtt": to_vtt, "rttm": to_rttm}
