"""Assemble the job result: transcript lines, speaker statistics, segments.

Pure functions over the stage outputs, so the exact response shape is tested
without models.  Statistics are computed from the speaker turns of the
transcript (what the client reads), so ``total_duration`` of a speaker equals
the sum of their segment lengths and percentages add up to 100.
"""

from __future__ import annotations

from typing import Any

from ..types import SpeakerTurn
from .analytics import call_analytics
from .turns import Turn


def _r(x: float) -> float:
    return round(float(x), 3)


def transcript_line(speaker: str, start: float, end: float, text: str) -> str:
    """``Speaker_01 [0.00s - 5.23s]: Hello, thank you for calling...``"""
    return f"{speaker} [{start:.2f}s - {end:.2f}s]: {text}"


def segments_payload(turns: list[Turn], names: dict[str, str]) -> list[dict[str, Any]]:
    out = []
    for turn in turns:
        speaker = names.get(turn.speaker, turn.speaker)
        out.append(
            {
                "start": _r(turn.start),
                "end": _r(turn.end),
                "speaker": speaker,
                "text": turn.text,
                "words": [
                    {
                        "start": _r(w.start),
                        "end": _r(w.end),
                        "word": w.word.strip(),
                        "probability": _r(w.probability),
                        "speaker": speaker,
                    }
                    for w in turn.words
                ],
            }
        )
    return out


def speaker_statistics(segments: list[dict[str, Any]]) -> dict[str, dict[str, float | int]]:
    """Per speaker: talk time, share of all talk time (%), number of turns, words."""
    stats: dict[str, dict[str, float | int]] = {}
    for seg in segments:
        s = stats.setdefault(
            seg["speaker"], {"total_duration": 0.0, "percentage": 0.0, "segment_count": 0, "word_count": 0}
        )
        s["total_duration"] += seg["end"] - seg["start"]
        s["segment_count"] += 1
        s["word_count"] += len(seg["words"])
    total = sum(s["total_duration"] for s in stats.values())
    for s in stats.values():
        s["percentage"] = round(100.0 * s["total_duration"] / total, 2) if total > 0 else 0.0
        s["total_duration"] = _r(s["total_duration"])
    return dict(sorted(stats.items()))


def build_result(
    *,
    language: tuple[str, float],
    turns: list[Turn],
    names: dict[str, str],
    diarization: list[SpeakerTurn],
    audio_duration: float,
    processing_time: float,
    models: dict[str, str],
    stage_seconds: dict[str, float],
    channel_mode: str = "mixed",
    languages: dict[str, dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """The job's result; *languages* is each channel's (or the mix's) language and probability."""
    segments = segments_payload(turns, names)
    speakers = speaker_statistics(segments)
    transcript = "\n".join(transcript_line(s["speaker"], s["start"], s["end"], s["text"]) for s in segments)
    timeline = [
        {"start": _r(t.start), "end": _r(t.end), "speaker": names.get(t.speaker, t.speaker)}
        for t in diarization
    ]
    return {
        "transcript": transcript,
        "speakers": speakers,
        "segments": segments,
        "total_speakers": len(speakers),
        "audio_duration": _r(audio_duration),
        "processing_time": _r(processing_time),
        "language": language[0],
        "language_probability": _r(language[1]),
        "languages": languages
        if languages is not None
        else {"mixed": {"language": language[0], "probability": _r(language[1])}},
        "channel_mode": channel_mode,
        "models": models,
        "diarization": timeline,
        "analytics": call_analytics(segments, timeline, audio_duration),
        "timings": {k: _r(v) for k, v in stage_seconds.items()},
    }
