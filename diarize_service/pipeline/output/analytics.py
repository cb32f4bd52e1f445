"""Call analytics from the speaker timeline and the transcript (pure functions).

What QA teams in contact centres look at: who talked how much and how fast,
monologues, people talking over each other, dead air, and how long the
customer waited for a first answer.  Talk time here comes from the
diarizer's timeline (it also counts speech without recognised words); words
per minute from the transcript.
"""

from __future__ import annotations

from typing import Any

DEAD_AIR_SECONDS = 3.0  # silences at least this long are reported
INTERRUPTION_MIN_OVERLAP = 0.3  # seconds of talking over someone before it counts as an interruption
MONOLOGUE_MAX_GAP = 1.5  # pauses shorter than this do not end a monologue


def _r(x: float) -> float:
    return round(float(x), 2)


def _merge(intervals: list[tuple[float, float]], max_gap: float = 0.0) -> list[tuple[float, float]]:
    merged: list[list[float]] = []
    for start, end in sorted(intervals):
        if merged and start - merged[-1][1] <= max_gap:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return [(s, e) for s, e in merged]


def _length(intervals: list[tuple[float, float]]) -> float:
    return sum(e - s for s, e in intervals)


def overlap_seconds(turns: list[dict[str, Any]]) -> float:
    """Time during which two or more speakers talk at once."""
    events = sorted([(t["start"], 1) for t in turns] + [(t["end"], -1) for t in turns])
    active, last, total = 0, 0.0, 0.0
    for time, delta in events:
        if active >= 2:
            total += time - last
        active += delta
        last = time
    return total


def interruptions(turns: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """B starts while A is talking, talks over A for a while, and A stops before B does."""
    found = []
    ordered = sorted(turns, key=lambda t: t["start"])
    for i, a in enumerate(ordered):
        for b in ordered[i + 1 :]:
            if b["start"] >= a["end"]:
                break
            if b["speaker"] == a["speaker"]:
                continue
            overlap = min(a["end"], b["end"]) - b["start"]
            if overlap >= INTERRUPTION_MIN_OVERLAP and a["end"] < b["end"]:
                found.append(
                    {"time": _r(b["start"]), "interrupter": b["speaker"], "interrupted": a["speaker"]}
                )
    return found


def dead_air(turns: list[dict[str, Any]], audio_duration: float, threshold: float = DEAD_AIR_SECONDS):
    """Silences (nobody talking) of at least *threshold* seconds, including before the first word."""
    speech = _merge([(t["start"], t["end"]) for t in turns])
    gaps, cursor = [], 0.0
    for start, end in [*speech, (audio_duration, audio_duration)]:
        if start - cursor >= threshold:
            gaps.append({"start": _r(cursor), "end": _r(start), "duration": _r(start - cursor)})
        cursor = max(cursor, end)
    return gaps


def call_analytics(
    segments: list[dict[str, Any]], diarization: list[dict[str, Any]], audio_duration: float
) -> dict[str, Any]:
    turns = diarization or [{"start": s["start"], "end": s["end"], "speaker": s["speaker"]} for s in segments]
    speakers = sorted({t["speaker"] for t in turns} | {s["speaker"] for s in segments})
    per_speaker: dict[str, dict[str, float]] = {}
    talk = {
        spk: _length(_merge([(t["start"], t["end"]) for t in turns if t["speaker"] == spk]))
        for spk in speakers
    }
    total_talk = sum(talk.values())
    for spk in speakers:
        words = sum(len(s["words"]) for s in segments if s["speaker"] == spk)
        spoken = sum(s["end"] - s["start"] for s in segments if s["speaker"] == spk)
        monologues = _merge(
            [(t["start"], t["end"]) for t in turns if t["speaker"] == spk], max_gap=MONOLOGUE_MAX_GAP
        )
        others = total_talk - talk[spk]
        per_speaker[spk] = {
            "talk_time": _r(talk[spk]),
            "talk_to_listen_ratio": _r(talk[spk] / others) if others > 0 else None,
            "words_per_minute": _r(60.0 * words / spoken) if spoken > 0 else 0.0,
            "longest_monologue": _r(max((e - s for s, e in monologues), default=0.0)),
        }
    ordered = sorted(turns, key=lambda t: t["start"])
    first_response = None
    if ordered:
        opener = ordered[0]["speaker"]
        first_end = min(t["end"] for t in ordered if t["speaker"] == opener)
        reply = next((t for t in ordered if t["speaker"] != opener), None)
        if reply is not None:
            first_response = _r(max(0.0, reply["start"] - first_end))
    interrupts = interruptions(turns)
    silences = dead_air(turns, audio_duration)
    return {
        "speakers": per_speaker,
        "overlap_time": _r(overlap_seconds(turns)),
        "interruptions": interrupts,
        "interruption_count": len(interrupts),
        "dead_air": silences,
        "dead_air_total": _r(sum(g["duration"] for g in silences)),
        "time_to_first_response": first_response,
    }
