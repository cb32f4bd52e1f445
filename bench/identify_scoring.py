"""Scoring of ``bench.identify_threshold`` (issue #23): enrolment as a user does it, and the rates.

The scoring space (:mod:`diarize_service.pipeline.diarization.scoring_space`)
is learnt from the dev calls, so the dev calls cannot score it as they are:
a voice's own test call would have taught the space how that voice varies.
On the dev seed every call is therefore scored in a space learnt without
its own speakers and without any enrolled dev voice (:func:`dev_spaces`),
and the threshold is chosen on those scores; the report seeds use the space
learnt from every dev call, the one the service ships.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np

from diarize_service.pipeline.diarization.scoring_space import ScoringSpace, fit_space
from diarize_service.pipeline.diarization.voiceprints import Voiceprint, pooled
from diarize_service.pipeline.output.identify import AMBIGUITY_MARGIN, EnrolledVoice, choose_names

from .identify_calls import Call, majority

MIN_SESSION_SECONDS = 5.0  # a diarized speaker holding less of a person is not a print of that person
Spaces = Callable[[Call], ScoringSpace]  # the space a call is scored in


def everywhere(space: ScoringSpace) -> Spaces:
    return lambda _call: space


def score(
    calls: list[Call],
    gallery: list[EnrolledVoice],
    threshold: float,
    spaces: Spaces,
    margin: float = AMBIGUITY_MARGIN,
    join: bool = True,
) -> dict[str, float]:
    """Speech-weighted rates (see bench.identify_threshold's docstring) at *threshold*."""
    named = enrolled_total = wrong = enrolled_speakers = false = unknown_total = 0.0
    false_speakers = unknown_speakers = right_speakers = own_speakers = 0
    per_call: dict[str, float] = {}  # an enrolled voice's test call -> share of its speech named
    for call in calls:
        labels = {label for _, label in call.overlap} | set(call.prints)
        found, halves = choose_names(call.prints, gallery, labels, False, threshold, spaces(call), margin)
        names = {m.label: m.voice.name for m in [*found, *(halves if join else [])]}
        own = {label: s for (ref, label), s in call.overlap.items() if ref == call.enrolled}
        enrolled_total += sum(own.values())
        named += sum(s for label, s in own.items() if names.get(label) == call.enrolled)
        if own:
            per_call[call.name] = sum(s for lb, s in own.items() if names.get(lb) == call.enrolled) / sum(
                own.values()
            )
        for label, (ref, seconds) in majority(call).items():
            if ref == call.enrolled:
                enrolled_speakers += seconds
                wrong += seconds if names.get(label) not in (None, ref) else 0.0
                own_speakers += 1
                right_speakers += names.get(label) == ref
            else:
                unknown_total += seconds
                unknown_speakers += 1
                if names.get(label) is not None:
                    false += seconds
                    false_speakers += 1
    return {
        "threshold": threshold,
        "named": named / enrolled_total if enrolled_total else 0.0,
        "wrong": wrong / enrolled_speakers if enrolled_speakers else 0.0,
        "false": false / unknown_total if unknown_total else 0.0,
        "false_speakers": false_speakers,
        "unknown_speakers": unknown_speakers,
        "right_speakers": right_speakers,
        "own_speakers": own_speakers,
        "per_call": per_call,
    }


def table(rows: list[dict], chosen: float) -> str:
    lines = [
        "| threshold | enrolled voice's speech named | diarized speakers of an enrolled voice named so "
        "| enrolled speakers named as another voice | unknown speakers' speech named "
        "| unknown speakers named |",
        "|---|---|---|---|---|---|",
    ]
    for row in rows:
        mark = " ←" if row["threshold"] == chosen else ""
        lines.append(
            f"| {row['threshold']:.2f}{mark} | {100 * row['named']:.1f} % "
            f"| {row['right_speakers']}/{row['own_speakers']} | {100 * row['wrong']:.1f} % "
            f"| {100 * row['false']:.1f} % | {row['false_speakers']}/{row['unknown_speakers']} |"
        )
    return "\n".join(lines)


def enrolled_print(call: Call) -> Voiceprint | None:
    """The print a user enrols from *call*: the diarized speaker that holds most of the voice's speech.

    None when that speaker is mostly someone else (the diarizer merged the two
    people of the call): a user reading that transcript would not enrol it.
    """
    held = {label: s for (ref, label), s in call.overlap.items() if ref == call.enrolled}
    label = max(held, key=held.__getitem__)
    ref, _ = majority(call)[label]
    if ref != call.enrolled or label not in call.prints:
        return None
    return call.prints[label]


def enrol(calls: list[Call]) -> EnrolledVoice | None:
    """The voice enrolled from its first call, with the others added as samples (the service's pooling)."""
    prints = [enrolled_print(call) for call in calls]
    if prints[0] is None:
        return None
    name = calls[0].enrolled or ""
    return EnrolledVoice(name, name, None, pooled([p for p in prints if p is not None]).embedding)


def dev_mean(calls: list[Call]) -> np.ndarray:
    """The mean print over every speaker of *calls*: the common direction taken off before scoring."""
    return np.mean([vp.embedding for call in calls for vp in call.prints.values()], axis=0)


def sessions(calls: Iterable[Call], leave_out: set[str] = frozenset()) -> list[np.ndarray]:
    """Per reference speaker not in *leave_out*, the prints of the diarized speakers that are mostly it."""
    found: dict[str, list[np.ndarray]] = {}
    for call in calls:
        for label, (ref, seconds) in majority(call).items():
            if label in call.prints and seconds >= MIN_SESSION_SECONDS and ref not in leave_out:
                found.setdefault(ref, []).append(call.prints[label].embedding)
    return [np.stack(rows) for rows in found.values()]


def dev_spaces(calls: list[Call], center: np.ndarray, enrolled: set[str]) -> Spaces:
    """Each dev call's space: learnt from the dev calls, without its speakers and the enrolled voices."""
    learnt: dict[str, ScoringSpace] = {}

    def space(call: Call) -> ScoringSpace:
        if call.name not in learnt:
            leave_out = enrolled | {ref for ref, _ in call.overlap}
            learnt[call.name] = fit_space(sessions(calls, leave_out), center)
        return learnt[call.name]

    return space
