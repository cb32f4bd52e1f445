"""Name enrolled voices in a finished result (issue #23): ``Speaker_02`` becomes ``Thandi``.

Each speaker of a call has a voiceprint (:mod:`..diarization.voiceprints`);
each voice enrolled under the job's API key has one too.  Matching is by
cosine similarity of the centered prints, one to one and greedy: the most
similar (speaker, voice) pair above :data:`MATCH_THRESHOLD` is named first,
then the next among those left, so one enrolled voice names at most one
speaker per call and a speaker gets at most one name.  Greedy rather than an
optimal assignment: a speaker is never given its second-best voice to make
room for another match, which would be a name the evidence does not favour.
A speaker whose two most similar voices are within :data:`AMBIGUITY_MARGIN`
of each other is not named at all: two agents who sound alike are told
apart by the line as much as by the voice, and naming the wrong agent is
worse than naming none.

A matched speaker's label is replaced everywhere a client reads it:
transcript, segments, words, ``speakers``, ``diarization`` and
``analytics`` (interruptions' who and whom included), and the result says
who was named: ``identified: {name: {speaker_id, similarity}}``.  Roles: in
a mixed call, a voice enrolled with a role (``agent``) gives its speaker
that role; in a split call the channel decides who is who, so the speaker
keeps its channel's label as its role (``Agent`` named ``Thandi`` has
``role: Agent``).

Pure functions over the result dict; the job runner calls them after
processing, with the voices it reads from the store.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..diarization.voiceprints import Voiceprint, center, centered
from .result import transcript_line

# Centered cosine similarity at or above which a call's speaker is named after an enrolled voice:
# bench/identify_threshold.py, 0.05 above the lowest that named no unknown speaker of the dev calls;
# on other calls it named 87 % of enrolled speech and 1 of 42 unknown speakers (two people merged).
MATCH_THRESHOLD = 0.65
# Bench: two similar dev voices scored 0.707 and 0.688 against one of them; 0.03-0.05 removed that wrong
# name and cost no right one on either seed, 0.08 did.
AMBIGUITY_MARGIN = 0.05


@dataclass(frozen=True)
class EnrolledVoice:
    speaker_id: str
    name: str
    role: str | None
    embedding: np.ndarray  # unit vector


@dataclass(frozen=True)
class Match:
    label: str  # the speaker's label in the call (Speaker_02, Agent)
    voice: EnrolledVoice
    similarity: float


def similarities(
    prints: Mapping[str, Voiceprint], voices: Sequence[EnrolledVoice], mean: np.ndarray | None = None
) -> np.ndarray:
    """(speakers, voices) cosine similarities after centering, speakers in *prints*' order.

    *mean* is what is taken away from every print first: by default the
    shipped :func:`..diarization.voiceprints.center` (zeros: plain cosine).
    """
    if not prints or not voices:
        return np.zeros((len(prints), len(voices)))
    mean = center() if mean is None else mean
    calls = centered(np.stack([vp.embedding for vp in prints.values()]), mean)
    enrolled = centered(np.stack([v.embedding for v in voices]), mean)
    return calls @ enrolled.T


def match_voices(
    prints: Mapping[str, Voiceprint],
    voices: Sequence[EnrolledVoice],
    threshold: float = MATCH_THRESHOLD,
    mean: np.ndarray | None = None,
    margin: float = AMBIGUITY_MARGIN,
) -> list[Match]:
    """One-to-one matches at or above *threshold*, most similar pair first (see the module docstring)."""
    scores = similarities(prints, voices, mean)
    labels = list(prints)
    ranked = -np.sort(-scores, axis=1)
    ambiguous = {i for i in range(len(labels)) if len(voices) > 1 and ranked[i, 0] - ranked[i, 1] < margin}
    pairs = sorted(
        ((float(scores[i, j]), i, j) for i in range(len(labels)) for j in range(len(voices))),
        key=lambda p: (-p[0], p[1], p[2]),
    )
    taken_speakers: set[int] = set()
    taken_voices: set[int] = set()
    matches = []
    for similarity, i, j in pairs:
        if similarity < threshold:
            break
        if i in taken_speakers or j in taken_voices or i in ambiguous:
            continue
        taken_speakers.add(i)
        taken_voices.add(j)
        matches.append(Match(labels[i], voices[j], similarity))
    return matches


def result_labels(result: Mapping[str, Any]) -> set[str]:
    """Every speaker label a result shows."""
    labels = set(result.get("speakers", {}))
    labels |= {t["speaker"] for t in result.get("diarization", [])}
    labels |= {s["speaker"] for s in result.get("segments", [])}
    labels |= set(result.get("analytics", {}).get("speakers", {}))
    return labels


def rename_speakers(result: dict[str, Any], names: Mapping[str, str]) -> dict[str, Any]:
    """*result* with each label in *names* replaced by its new name, everywhere (a new dict)."""

    def new(label: str) -> str:
        return names.get(label, label)

    out = dict(result)
    segments = []
    for seg in result.get("segments", []):
        words = [{**w, "speaker": new(w["speaker"])} if "speaker" in w else w for w in seg.get("words", [])]
        segments.append({**seg, "speaker": new(seg["speaker"]), "words": words})
    out["segments"] = segments
    if "transcript" in result:
        out["transcript"] = "\n".join(
            transcript_line(s["speaker"], s["start"], s["end"], s["text"]) for s in segments
        )
    out["speakers"] = dict(sorted((new(k), v) for k, v in result.get("speakers", {}).items()))
    out["diarization"] = [{**t, "speaker": new(t["speaker"])} for t in result.get("diarization", [])]
    if "analytics" in result:
        analytics = dict(result["analytics"])
        analytics["speakers"] = {new(k): v for k, v in analytics.get("speakers", {}).items()}
        analytics["interruptions"] = [
            {**i, "interrupter": new(i["interrupter"]), "interrupted": new(i["interrupted"])}
            for i in analytics.get("interruptions", [])
        ]
        out["analytics"] = analytics
    if isinstance(result.get("languages"), dict):  # issue #22: per channel in split calls, by its label
        out["languages"] = {new(k): v for k, v in result["languages"].items()}
    return out


def identify(
    result: dict[str, Any],
    prints: Mapping[str, Voiceprint],
    voices: Sequence[EnrolledVoice],
    threshold: float = MATCH_THRESHOLD,
    mean: np.ndarray | None = None,
) -> tuple[dict[str, Any], dict[str, str]]:
    """Name the speakers of *result* that match enrolled *voices*; returns (result, label -> new name).

    A name that another, unmatched speaker of the call already carries (a
    voice enrolled as ``Customer`` matching the agent's channel of a split
    call) is not given: two speakers must never share a label.
    """
    found = match_voices(prints, voices, threshold, mean)
    matches = [m for m in found if m.label in result_labels(result)]
    renamed = {m.label for m in matches}
    kept = result_labels(result) - renamed
    matches = [m for m in matches if m.voice.name not in kept]
    names = {m.label: m.voice.name for m in matches}
    out = rename_speakers(result, names)
    split = result.get("channel_mode") == "split"
    for match in matches:
        stats = out["speakers"].get(match.voice.name)
        role = match.label if split else match.voice.role
        if stats is not None and role:
            out["speakers"][match.voice.name] = {**stats, "role": role}
    out["identified"] = {
        m.voice.name: {"speaker_id": m.voice.speaker_id, "similarity": round(m.similarity, 3)}
        for m in matches
    }
    return out, names
