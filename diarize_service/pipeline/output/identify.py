"""Name enrolled voices in a finished result (issue #23): ``Speaker_02`` becomes ``Thandi``.

Each speaker of a call has a voiceprint (:mod:`..diarization.voiceprints`);
each voice enrolled under the job's API key has one too.  Matching is by
cosine similarity in the shipped scoring space
(:mod:`..diarization.scoring_space`), one to one and greedy: the most
similar (speaker, voice) pair above :data:`MATCH_THRESHOLD` is named first,
then the next among those left, so one enrolled voice names at most one
speaker per call and a speaker gets at most one name.  Greedy rather than an
optimal assignment: a speaker is never given its second-best voice to make
room for another match, which would be a name the evidence does not favour.
A speaker whose two most similar voices are within :data:`AMBIGUITY_MARGIN`
of each other is not named at all: two agents who sound alike are told
apart by the line as much as by the voice, and naming the wrong agent is
worse than naming none.

A diarizer sometimes splits one person into two speakers (a voice that
changes with the line, a long call).  In a mixed call, a speaker left
unnamed whose own best match, unambiguous and above the threshold, is a
voice already given to another speaker of the call is that person's other
half: the two are **joined** under the one name (never below two speakers
a call, so a look-alike customer is not folded into the agent; never
across the channels of a split call, where the channel says who is who).
Measured in bench/identify_threshold.py: the enrolled speech named rose
from 83 to 87 % on the dev calls and from 87 to 92 % on the report seed,
with no more unknown speakers named.

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

from ..diarization.reassignment import join_touching
from ..diarization.scoring_space import ScoringSpace, shipped_space
from ..diarization.voiceprints import Voiceprint
from ..types import SpeakerTurn
from .analytics import call_analytics
from .result import speaker_statistics, transcript_line

# Cosine similarity in the scoring space at or above which a call's speaker is named after an enrolled
# voice: bench/identify_threshold.py, 0.05 above the lowest that named no unknown speaker of the dev calls
# (scored in spaces learnt without them); the report seeds' figures are in docs/voices.md.
MATCH_THRESHOLD = 0.60
# Bench, in the centered space before the within-speaker directions: two similar dev voices scored 0.707
# and 0.688 against one of them; 0.03-0.05 removed that wrong name and cost no right one, 0.08 did.
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
    prints: Mapping[str, Voiceprint], voices: Sequence[EnrolledVoice], space: ScoringSpace | None = None
) -> np.ndarray:
    """(speakers, voices) cosine similarities in *space*, speakers in *prints*' order.

    By default the shipped space; plain cosine when the service has none.
    """
    if not prints or not voices:
        return np.zeros((len(prints), len(voices)))
    calls = np.stack([vp.embedding for vp in prints.values()])
    enrolled = np.stack([v.embedding for v in voices])
    space = space or shipped_space() or ScoringSpace.plain(calls.shape[1])
    return space.project(calls) @ space.project(enrolled).T


def match_voices(
    prints: Mapping[str, Voiceprint],
    voices: Sequence[EnrolledVoice],
    threshold: float = MATCH_THRESHOLD,
    space: ScoringSpace | None = None,
    margin: float = AMBIGUITY_MARGIN,
    scores: np.ndarray | None = None,
) -> list[Match]:
    """One-to-one matches at or above *threshold*, most similar pair first (see the module docstring).

    *scores* are :func:`similarities` when the caller has them already.
    """
    scores = similarities(prints, voices, space) if scores is None else scores
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


def joined_halves(
    prints: Mapping[str, Voiceprint],
    voices: Sequence[EnrolledVoice],
    matches: Sequence[Match],
    threshold: float = MATCH_THRESHOLD,
    space: ScoringSpace | None = None,
    margin: float = AMBIGUITY_MARGIN,
    scores: np.ndarray | None = None,
) -> list[Match]:
    """Unnamed speakers whose clear best voice was already given to another speaker (module docstring).

    Most similar first; the caller decides how many the call can lose.
    """
    scores = similarities(prints, voices, space) if scores is None else scores
    labels = list(prints)
    given = {m.voice.speaker_id for m in matches}
    named = {m.label for m in matches}
    halves = []
    for i, label in enumerate(labels):
        if label in named or not voices:
            continue
        ranked = np.sort(scores[i])[::-1]
        best = int(np.argmax(scores[i]))
        clear = len(voices) == 1 or ranked[0] - ranked[1] >= margin
        if clear and ranked[0] >= threshold and voices[best].speaker_id in given:
            halves.append(Match(label, voices[best], float(ranked[0])))
    return sorted(halves, key=lambda m: -m.similarity)


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
    speakers: dict[str, Any] = {}
    for label, stats in result.get("speakers", {}).items():  # joined halves: the first keeps its keys
        speakers.setdefault(new(label), stats)
    out["speakers"] = dict(sorted(speakers.items()))
    out["diarization"] = [{**t, "speaker": new(t["speaker"])} for t in result.get("diarization", [])]
    if "analytics" in result:
        analytics = dict(result["analytics"])
        per_speaker: dict[str, Any] = {}
        for label, stats in analytics.get("speakers", {}).items():
            per_speaker.setdefault(new(label), stats)
        analytics["speakers"] = per_speaker
        analytics["interruptions"] = [
            {**i, "interrupter": new(i["interrupter"]), "interrupted": new(i["interrupted"])}
            for i in analytics.get("interruptions", [])
        ]
        out["analytics"] = analytics
    if isinstance(result.get("languages"), dict):  # issue #22: per channel in split calls, by its label
        out["languages"] = {new(k): v for k, v in result["languages"].items()}
    if len({new(label) for label in result_labels(result)}) < len(result_labels(result)):
        out = _recount_joined(out, result)
    return out


def _recount_joined(out: dict[str, Any], before: Mapping[str, Any]) -> dict[str, Any]:
    """Two labels became one (a split person joined): statistics and analytics counted again.

    Renaming alone would keep one half's numbers; a speaker's entry keeps any
    keys beyond the counted ones (a role) from what it was.
    """
    timeline = _join_touching(out["diarization"])
    speakers = speaker_statistics(out["segments"])
    for name, stats in out["speakers"].items():
        if name in speakers:
            speakers[name] = {**stats, **speakers[name]}
    out = {**out, "diarization": timeline, "speakers": speakers, "total_speakers": len(speakers)}
    if "analytics" in before:
        out["analytics"] = call_analytics(out["segments"], timeline, float(before.get("audio_duration", 0.0)))
    return out


def _join_touching(timeline: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The result's ``diarization`` with one speaker's touching turns as one, in time order."""
    turns = [SpeakerTurn(t["start"], t["end"], t["speaker"]) for t in timeline]
    joined = sorted(join_touching(turns), key=lambda t: (t.start, t.speaker))
    return [{"start": t.start, "end": t.end, "speaker": t.speaker} for t in joined]


def choose_names(
    prints: Mapping[str, Voiceprint],
    voices: Sequence[EnrolledVoice],
    labels: set[str],
    split: bool,
    threshold: float = MATCH_THRESHOLD,
    space: ScoringSpace | None = None,
    margin: float = AMBIGUITY_MARGIN,
) -> tuple[list[Match], list[Match]]:
    """(matches, joined halves) for a call whose speakers are *labels* (the bench scores this too).

    A name that another, unmatched speaker of the call already carries (a
    voice enrolled as ``Customer`` matching the agent's channel of a split
    call) is not given: two speakers must never share a label.
    """
    scores = similarities(prints, voices, space)  # once, for the matches and the halves
    matches = [m for m in match_voices(prints, voices, threshold, space, margin, scores) if m.label in labels]
    kept = labels - {m.label for m in matches}
    matches = [m for m in matches if m.voice.name not in kept]
    if split:
        return matches, []
    halves = [
        h
        for h in joined_halves(prints, voices, matches, threshold, space, margin, scores)
        if h.label in labels
    ]
    return matches, halves[: max(0, len(labels) - 2)]  # a call keeps two speakers at least


def identify(
    result: dict[str, Any],
    prints: Mapping[str, Voiceprint],
    voices: Sequence[EnrolledVoice],
    threshold: float = MATCH_THRESHOLD,
    space: ScoringSpace | None = None,
) -> tuple[dict[str, Any], dict[str, str]]:
    """Name the speakers of *result* that match enrolled *voices*; returns (result, label -> new name)."""
    split = result.get("channel_mode") == "split"
    matches, halves = choose_names(prints, voices, result_labels(result), split, threshold, space)
    names = {m.label: m.voice.name for m in [*matches, *halves]}
    out = rename_speakers(result, names)
    for match in matches:
        stats = out["speakers"].get(match.voice.name)
        role = match.label if split else match.voice.role
        if stats is not None and role:
            out["speakers"][match.voice.name] = {**stats, "role": role}
    out["identified"] = {
        m.voice.name: {"speaker_id": m.voice.speaker_id, "similarity": round(m.similarity, 3)}
        for m in matches
    }
    for half in halves:  # which diarized speakers were joined into the named one
        entry = out["identified"][half.voice.name]
        entry["joined"] = sorted([*entry.get("joined", []), half.label])
    return out, names
