"""The similarity threshold for naming enrolled voices (issue #23), measured on simulated calls.

    python -m bench.identify_threshold [--voices 8 --unknown-calls 12 --tests 2 --save-space]

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
  matches, and a split person's halves joined), in the scoring space
  learnt from the dev calls (``--save-space`` ships it; bench.identify_scoring
  says how the dev calls are scored without seeing themselves).

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
from diarize_service.pipeline.diarization.scoring_space import (
    SPACE_FILE,
    ScoringSpace,
    fit_space,
    shipped_space,
)
from diarize_service.pipeline.output.identify import AMBIGUITY_MARGIN, MATCH_THRESHOLD, similarities

from .identify_calls import Call, build_set, diarize, voice_halves
from .identify_scoring import dev_mean, dev_spaces, enrol, everywhere, score, sessions, table
from .paths import ROOT

THRESHOLDS = [round(t, 2) for t in np.arange(0.30, 0.801, 0.05)]
RAW = [round(t, 2) for t in np.arange(0.60, 0.951, 0.05)]  # plain cosines sit higher
BUDGET = 0.01
MARGINS = [0.0, 0.03, 0.05, 0.08, 0.1]
MARGIN = 0.05  # above the lowest passing threshold: a few dozen unknown dev speakers cannot pin it closer


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
        "--save-space",
        action="store_true",
        help="write the dev calls' scoring space to the service's SPACE_FILE",
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
    dev_calls = sets["dev"][0] + sets["dev"][1]
    mean = dev_mean(dev_calls)
    every_dev_call = dev_calls + [c for c in second_calls.values() if c.enrolled in enrolled["dev"]]
    space = fit_space(sessions(every_dev_call), mean)  # what --save-space ships
    spaces = {"dev": dev_spaces(every_dev_call, mean, set(enrolled["dev"])), "report": everywhere(space)}
    centered_only = everywhere(ScoringSpace.centered_only(mean))  # before issue #23's second round

    def choose(scored: list[dict]) -> float:
        passing = [r["threshold"] for r in scored if r["false"] <= BUDGET and r["wrong"] <= BUDGET]
        return round(min(passing) + MARGIN, 2) if passing else max(THRESHOLDS)

    rows = {s: [score(sets[s][1], gallery, t, spaces[s]) for t in THRESHOLDS] for s in sets}
    plain = everywhere(ScoringSpace.plain(len(mean)))
    raw = {s: [score(sets[s][1], gallery, t, plain) for t in RAW] for s in sets}
    chosen = choose(rows["dev"])
    at = score(sets["report"][1], gallery, chosen, spaces["report"])
    service_space = shipped_space()
    shipped = None
    if service_space is not None:
        shipped = score(sets["report"][1], gallery, MATCH_THRESHOLD, everywhere(service_space))
    before = choose([score(sets["dev"][1], gallery, t, centered_only) for t in THRESHOLDS])

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
        "enrolment and test calls share no recording. Similarity: cosine of voiceprints in the scoring "
        "space learnt from the dev calls (on the dev seed, learnt without the scored call's speakers and "
        "the enrolled dev voices). Not enrolled, because the diarizer merged them with the other "
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
        dev, rep = (score(sets[s][1], gallery, chosen, spaces[s], margin) for s in ("dev", "report"))
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
        dev, rep = (score(sets[s][1], gallery, chosen, spaces[s], join=join) for s in ("dev", "report"))
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
        dev, rep = (score(sets[s][1], voices, chosen, spaces[s]) for s in ("dev", "report"))
        text.append(
            f"| {count} | {100 * dev['named']:.1f} % | {dev['false_speakers']}/{dev['unknown_speakers']} "
            f"| {100 * rep['named']:.1f} % | {rep['false_speakers']}/{rep['unknown_speakers']} |"
        )
    text += [
        "",
        "The within-speaker directions (the space) against the dev mean taken off alone, each at the "
        "threshold its own dev scores choose:",
        "",
        "| scoring | threshold | enrolment calls | dev: named | dev: unknown speakers named "
        "| report: named | report: unknown speakers named |",
        "|---|---|---|---|---|---|---|",
    ]
    for label, threshold, how in (("mean taken off", before, None), ("space (service)", chosen, spaces)):
        for count, voices in (("1", gallery), ("2", gallery_twice)):
            dev, rep = (
                score(sets[s][1], voices, threshold, how[s] if how else centered_only)
                for s in ("dev", "report")
            )
            text.append(
                f"| {label} | {threshold:.2f} | {count} | {100 * dev['named']:.1f} % "
                f"| {dev['false_speakers']}/{dev['unknown_speakers']} | {100 * rep['named']:.1f} % "
                f"| {rep['false_speakers']}/{rep['unknown_speakers']} |"
            )
    text += [
        "",
        f"Per test call of an enrolled voice on the report seed, at {chosen:.2f}: share of its speech named",
    ]
    for count, voices in (("one enrolment call", gallery), ("two enrolment calls", gallery_twice)):
        shares = score(sets["report"][1], voices, chosen, spaces["report"])["per_call"]
        spread = ", ".join(f"{100 * v:.0f}" for v in sorted(shares.values()))
        text.append(f"* {count}: {spread} % (median {100 * float(np.median(list(shares.values()))):.0f} %)")
    if shipped is not None:
        text += [
            "",
            f"The service (MATCH_THRESHOLD = {MATCH_THRESHOLD:.2f}, shipped space) on the report seed: "
            f"{100 * shipped['named']:.1f} % named, {100 * shipped['false']:.1f} % false "
            f"({shipped['false_speakers']}/{shipped['unknown_speakers']}).",
        ]
    text += [
        "",
        "Plain cosine (nothing taken off), for comparison:",
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
                for label, sims in zip(
                    call.prints, similarities(call.prints, gallery, spaces[split](call)), strict=True
                )
            }
            for call in sets[split][1]
        }
        for split in sets
    }
    report = {"rows": rows, "plain_cosine": raw, "chosen": chosen, "enrolled": enrolled}
    (args.out / "identify_threshold.json").write_text(
        json.dumps({**report, "similarity": similarity}, indent=1)
    )
    if args.save_space:
        saved = {
            "about": "scoring space of the dev calls of bench/identify_threshold.py "
            f"(seed {args.dev_seed}, {len(every_dev_call)} calls): their mean print, and the directions "
            "one speaker's prints vary along with the factor each is shrunk by",
            **space.to_json(),
        }
        SPACE_FILE.write_text(json.dumps(saved) + "\n")
    print("\n".join(text))


if __name__ == "__main__":
    main()
