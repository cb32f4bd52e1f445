"""Per-voice statistics over the calls that named an enrolled voice (issue #23), pure functions.

Contact-centre QA judges an agent across calls, not one call at a time:
how much they talk against how much they listen, how often they cut the
customer off or are cut off, and how long they hold the floor.  Each
call's result already has those figures per speaker (:mod:`.analytics`)
under the name the voice was given there; the voice is found in a result
by its ``speaker_id`` in ``identified``, so a renamed or re-enrolled voice
of the same name is never mixed in.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any


def name_in(result: Mapping[str, Any], speaker_id: str) -> str | None:
    """The label voice *speaker_id* carries in *result*, or None when the result does not name it."""
    for name, entry in (result.get("identified") or {}).items():
        if entry.get("speaker_id") == speaker_id:
            return name
    return None


def voice_statistics(results: Iterable[Mapping[str, Any]], speaker_id: str) -> dict[str, Any]:
    """Calls, talk and listen time, their ratio, interruptions made and suffered, longest monologue."""
    calls = made = suffered = 0
    talk = listen = longest = 0.0
    for result in results:
        name = name_in(result, speaker_id)
        analytics = result.get("analytics") or {}
        speakers = analytics.get("speakers") or {}
        if name is None or name not in speakers:
            continue
        calls += 1
        talk += speakers[name]["talk_time"]
        listen += sum(s["talk_time"] for other, s in speakers.items() if other != name)
        longest = max(longest, speakers[name]["longest_monologue"])
        for interruption in analytics.get("interruptions", []):
            made += interruption["interrupter"] == name
            suffered += interruption["interrupted"] == name
    return {
        "calls": calls,
        "talk_time": round(talk, 2),
        "listen_time": round(listen, 2),
        "talk_to_listen_ratio": round(talk / listen, 2) if listen > 0 else None,
        "interruptions_made": made,
        "interruptions_suffered": suffered,
        "longest_monologue": round(longest, 2),
    }
