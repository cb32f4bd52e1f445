"""The similarity threshold for naming enrolled voices (issue #23), measured on simulated calls.

    python -m bench.identify_threshold [--voices 8 --unknown-calls 12 --tests 2 --save-center]

Protocol, on the dev speaker pool (``../shared/data/pool_dev.txt``), all
calls two-party, 40-70 s, 8 kHz μ-law with line noise (make_calls.py):

* each voice's recordings are split in two disjoint halves (alternate files;
  one long recording is cut in two), so an enrolment call and a test call
  never share a second of that voice's audio;
* per enrolled voice, an **enrolment call** (its first half, an unknown
  partner, white or pink line noise) and ``--tests`` **test calls** (its
  second half, other unknown partners; babble on the line, then the noise
  the enrolment call did not have); plus calls between two unknown voices.
  Babble talkers are unknown voices that are not in the call;
* every call is diarized by the service's own diarizer with its voiceprints;
  the enrolled print is that of the diarized speaker holding most of the
  voice's reference speech, as a user enrols "the agent" from a result
  (none when that speaker is mostly the other person: a merged call);
* the voices of both seeds are enrolled at once (the gallery), and every
  test call is matched against all of them with the service's own
  :func:`diarize_service.pipeline.output.identify.choose_names` (one-to-one
  matches, and a split person's halves joined), after the
  dev calls' mean print is taken off (``--save-center`` ships it).

Scores, speech-weighted: *named* = share of an enrolled voice's reference
speech (as far as the diarizer gave it to anyone) that carries its own name;
*wrong* = diarized speakers that are mostly an enrolled voice but carry
another one's name; *false* = diarized speakers that are mostly an unknown
voice but carry a name (also counted per speaker).  The threshold is chosen
on the dev seed, :data:`MARGIN` above the lowest with *false* and *wrong*
at most 1 % (half the issue's 2 % budget), and reported on the other seed:
other enrolled voices, partners and noise.  Diarization is cached per call,
so a rerun only scores.  Writes bench/results/identify_threshold.{md,json}.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import soundfile as sf

from diarize_service.config import Settings
from diarize_service.pipeline.diarization.voiceprints import CENTER_FILE, Voiceprint, center, pooled
from diarize_service.pipeline.output.identify import (
    AMBIGUITY_MARGIN,
    MATCH_THRESHOLD,
    EnrolledVoice,
    choose_names,
    similarities,
)

from .identify_calls import Call, build_set, diarize, majority, voice_halves
from .paths import ROOT

THRESHOLDS = [round(t, 2) for t in np.arange(0.30, 0.801, 0.05)]
RAW = [round(t, 2) for t in np.arange(0.60, 0.951, 0.05)]  # plain cosines sit higher
BUDGET = 0.01
MARGINS = [0.0, 0.03, 0.05, 0.08, 0.1]
MARGIN = 0.05  # above the lowest passing threshold: a few dozen unknown dev speakers cannot pin it closer


def score(
    calls: list[Call],
    gallery: list[EnrolledVoice],
    threshold: float,
    mean,
    margin: float = AMBIGUITY_MARGIN,
    join: bool = True,
) -> dict[str, float]:
    """Speech-weighted rates (see the module docstring) at *threshold*, with *mean* taken off prints."""
    named = enrolled_total = wrong = enrolled_speakers = false = unknown_total = 0.0
    false_speakers = unknown_speakers = right_speakers = own_speakers = 0
    for call in calls:
        labels = {label for _, label in call.overlap} | set(call.prints)
        found, halves = choose_names(call.prints, gallery, labels, False, threshold, mean, margin)
        names = {m.label: m.voice.name for m in [*found, *(halves if join else [])]}
        for (ref, label), seconds in call.overlap.items():
            if ref == call.enrolled:
                enrolled_total += seconds
                named += seconds if names.get(label) == ref else 0.0
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


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--voices", type=int, default=8, help="enrolled voices per seed")
    parser.add_argument("--unknown-calls", type=int, default=12, help="calls of two unknown voices per seed")
    parser.add_argument("--tests", type=int, default=2, help="test calls per enrolled voice")
    parser.add_argument("--dev-seed", type=int, default=23)
    parser.add_argument("--report-seed", type=int, default=24)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    parser.add_argument(
        "--save-center", action="store_true", help="write the dev mean print to the service's CENTER_FILE"
    )
    args = parser.parse_args()

    import torch

    from diarize_service.app import build_workers
    from diarize_service.pipeline.workers import load_diarizer

    settings = Settings()
    torch.set_num_threads(settings.resolved_diarization_threads)
    diarizer = load_diarizer(build_workers(settings).diarization.config)
    work = ROOT / "bench" / "calls" / "identify"
    halves, records = voice_halves(work)
    rng = np.random.default_rng(2300)
    candidates = [str(s) for s in rng.permutation(sorted(halves))]
    k = args.voices
    enrolled = {"dev": candidates[:k], "report": candidates[k : 2 * k]}
    rest = [str(s) for s in rng.permutation(sorted(set(records) - set(candidates[: 2 * k])))]
    unknown = {"dev": rest[0::2], "report": rest[1::2]}

    sets = {}
    second_calls: dict[str | None, Call] = {}
    for split, seed in (("dev", args.dev_seed), ("report", args.report_seed)):
        enrol_calls, test_calls, second_enrol = build_set(
            work, seed, enrolled[split], unknown[split], halves, records, args.unknown_calls, args.tests
        )
        for call in enrol_calls + test_calls + second_enrol:
            diarize(diarizer, call)
            print(f"{split}: {call.name}: {len(call.prints)} speakers", flush=True)
        sets[split] = (enrol_calls, test_calls)
        second_calls.update({call.enrolled: call for call in second_enrol})
    enrolments = {call.enrolled: enrol([call]) for split in sets for call in sets[split][0]}
    gallery = [voice for voice in enrolments.values() if voice is not None]
    twice = [enrol([c, second_calls[c.enrolled]]) for split in sets for c in sets[split][0]]
    gallery_twice = [voice for voice in twice if voice is not None]
    merged = sorted(str(name) for name, voice in enrolments.items() if voice is None)
    for split in sets:  # a voice that could not be enrolled is an unknown voice in its test call
        for call in sets[split][1]:
            call.enrolled = None if call.enrolled in merged else call.enrolled
    mean = dev_mean(sets["dev"][0] + sets["dev"][1])

    rows = {split: [score(sets[split][1], gallery, t, mean) for t in THRESHOLDS] for split in sets}
    raw = {split: [score(sets[split][1], gallery, t, np.zeros_like(mean)) for t in RAW] for split in sets}
    passing = [r["threshold"] for r in rows["dev"] if r["false"] <= BUDGET and r["wrong"] <= BUDGET]
    chosen = round(min(passing) + MARGIN, 2) if passing else max(THRESHOLDS)
    at = score(sets["report"][1], gallery, chosen, mean)
    shipped = score(sets["report"][1], gallery, MATCH_THRESHOLD, None) if center() is not None else None

    audio = sum(sf.info(c.wav).duration for s in sets.values() for group in s for c in group)
    text = [
        "# Naming enrolled voices: the similarity threshold (issue #23)",
        "",
        f"`python -m bench.identify_threshold --voices {k} --unknown-calls {args.unknown_calls} "
        f"--tests {args.tests} "
        f"--dev-seed {args.dev_seed} --report-seed {args.report_seed}`: {len(gallery)} voices enrolled "
        f"(all matched against every call), {sum(len(s[0]) + len(s[1]) for s in sets.values())} calls "
        f"({audio / 60:.1f} min), 8 kHz μ-law; enrolment calls with white or pink line noise, test calls "
        "with babble (or, between unknown voices, any noise) and other partners; an enrolled voice's "
        "enrolment and test calls share no recording. Similarity: cosine of voiceprints with the dev "
        "calls' mean print taken off. Not enrolled, because the diarizer merged them with the other "
        f"person of their enrolment call (they count as unknown voices): {', '.join(merged) or 'none'}.",
        "",
        f"## Dev (seed {args.dev_seed}): threshold chosen here",
        "",
        table(rows["dev"], chosen),
        "",
        f"## Report (seed {args.report_seed}: other voices, partners, noise)",
        "",
        table(rows["report"], chosen),
        "",
        f"Chosen on dev: **{chosen:.2f}**, {MARGIN:.2f} above the lowest with wrong and false names "
        f"≤ {100 * BUDGET:.0f} %. "
        f"On the report seed: {100 * at['named']:.1f} % of enrolled voices' speech named, "
        f"{100 * at['false']:.1f} % of unknown speakers' speech named "
        f"({at['false_speakers']}/{at['unknown_speakers']} speakers).",
    ]
    text += [
        "",
        f"The ambiguity margin (a speaker whose two closest voices are nearer than this is not named) at "
        f"{chosen:.2f}; the service uses {AMBIGUITY_MARGIN:.2f}:",
        "",
        "| margin | dev: named | dev: named as another | report: named | report: named as another |",
        "|---|---|---|---|---|",
    ]
    for margin in MARGINS:
        dev, rep = (score(sets[s][1], gallery, chosen, mean, margin) for s in ("dev", "report"))
        text.append(
            f"| {margin:.2f} | {100 * dev['named']:.1f} % | {100 * dev['wrong']:.1f} % "
            f"| {100 * rep['named']:.1f} % | {100 * rep['wrong']:.1f} % |"
        )
    text += [
        "",
        f"Joining a person the diarizer split in two (an unnamed speaker whose clear best voice was given "
        f"to another speaker of the call) at {chosen:.2f}:",
        "",
        "| halves joined | dev: named | dev: unknown speakers named | report: named "
        "| report: unknown speakers named |",
        "|---|---|---|---|---|",
    ]
    for join in (False, True):
        dev, rep = (score(sets[s][1], gallery, chosen, mean, join=join) for s in ("dev", "report"))
        text.append(
            f"| {'yes (service)' if join else 'no'} | {100 * dev['named']:.1f} % "
            f"| {dev['false_speakers']}/{dev['unknown_speakers']} | {100 * rep['named']:.1f} % "
            f"| {rep['false_speakers']}/{rep['unknown_speakers']} |"
        )
    text += [
        "",
        f"Each voice enrolled from two calls (the second added as a sample, `POST /speakers/{{id}}/samples`: "
        f"the same half of its recordings, another partner and line noise) at {chosen:.2f}:",
        "",
        "| enrolment calls | dev: named | dev: unknown speakers named | report: named "
        "| report: unknown speakers named |",
        "|---|---|---|---|---|",
    ]
    for count, voices in (("1", gallery), ("2", gallery_twice)):
        dev, rep = (score(sets[s][1], voices, chosen, mean) for s in ("dev", "report"))
        text.append(
            f"| {count} | {100 * dev['named']:.1f} % | {dev['false_speakers']}/{dev['unknown_speakers']} "
            f"| {100 * rep['named']:.1f} % | {rep['false_speakers']}/{rep['unknown_speakers']} |"
        )
    if shipped is not None:
        text += [
            "",
            f"The service (MATCH_THRESHOLD = {MATCH_THRESHOLD:.2f}, shipped center) on the report seed: "
            f"{100 * shipped['named']:.1f} % named, {100 * shipped['false']:.1f} % false "
            f"({shipped['false_speakers']}/{shipped['unknown_speakers']}).",
        ]
    text += [
        "",
        "Without the mean taken off (plain cosine), for comparison:",
        "",
        "### Dev, plain cosine",
        "",
        table(raw["dev"], -1),
        "",
        "### Report, plain cosine",
        "",
        table(raw["report"], -1),
    ]
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "identify_threshold.md").write_text("\n".join(text) + "\n")
    similarity = {
        split: {
            call.name: {
                label: dict(zip([v.name for v in gallery], np.round(sims, 3).tolist(), strict=True))
                for label, sims in zip(call.prints, similarities(call.prints, gallery, mean), strict=True)
            }
            for call in sets[split][1]
        }
        for split in sets
    }
    report = {"rows": rows, "plain_cosine": raw, "chosen": chosen, "enrolled": enrolled}
    (args.out / "identify_threshold.json").write_text(
        json.dumps({**report, "similarity": similarity}, indent=1)
    )
    if args.save_center:
        CENTER_FILE.write_text(
            json.dumps(
                {
                    "about": "mean voiceprint of the dev calls of bench/identify_threshold.py "
                    f"(seed {args.dev_seed}, {len(sets['dev'][0]) + len(sets['dev'][1])} calls)",
                    "center": [round(float(x), 6) for x in mean],
                }
            )
            + "\n"
        )
    print("\n".join(text))


if __name__ == "__main__":
    main()
