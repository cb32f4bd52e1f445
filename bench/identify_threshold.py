"""The similarity threshold for naming enrolled voices (issue #23), measured on simulated calls.

    python -m bench.identify_threshold [--voices 6 --unknown-calls 6 --dev-seed 23 --report-seed 24]

Protocol, on the dev speaker pool (``../shared/data/pool_dev.txt``):

* each voice's recordings are split in two disjoint halves (alternate files;
  one long recording is cut in two), so an enrolment call and a test call
  never share a second of that voice's audio;
* per enrolled voice, an **enrolment call** (its first half, an unknown
  partner, white or pink line noise) and a **test call** (its second half,
  another unknown partner, babble on the line: other people talking); plus
  calls between two unknown voices.  Babble talkers are never voices of the
  call or enrolled voices;
* every call is diarized by the service's own diarizer; the enrolled print
  is the print of the diarized speaker that covers most of the voice's
  reference speech (as a user enrols "the agent" from a result);
* all voices of both sets are enrolled at once (the gallery), and each test
  call's speakers are matched against all of them with the service's own
  :func:`diarize_service.pipeline.output.identify.match_voices`.

Scores, speech-weighted over the reference speech that the diarizer gave to
some speaker: *named* = an enrolled voice's speech carrying its own name;
*wrong* = an enrolled voice's speech carrying another voice's name;
*false* = an unknown voice's speech carrying any name.  The threshold is
chosen on the dev seed (the lowest with *false* and *wrong* at most 1 %,
half the issue's 2 % budget, since a dev set this small cannot resolve
less) and reported on the other seed, with other voices, partners and noise.
Writes bench/results/identify_threshold.{md,json}.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import soundfile as sf
from pyannote.core import Segment
from pyannote.database.util import load_rttm

from diarize_service.config import Settings
from diarize_service.pipeline.audio import decode
from diarize_service.pipeline.diarization.voiceprints import Voiceprint, call_voiceprints
from diarize_service.pipeline.output.identify import MATCH_THRESHOLD, EnrolledVoice, match_voices

from .paths import DATA, MAKE_CALLS, ROOT

THRESHOLDS = [round(t, 2) for t in np.arange(0.30, 0.851, 0.05)]
MIN_HALF_SECONDS = 4.0  # a cut recording's halves must each hold this much of the voice
BUDGET = 0.01


@dataclass
class Call:
    name: str
    wav: Path
    rttm: Path
    enrolled: str | None  # the enrolled voice in this call, if any
    prints: dict[str, Voiceprint] = field(default_factory=dict)
    overlap: dict[tuple[str, str], float] = field(default_factory=dict)  # (reference, diarized) -> s


def pool_speakers() -> list[str]:
    lines = (DATA / "pool_dev.txt").read_text().splitlines()
    return [line.split("#", 1)[0].split()[0] for line in lines if line.split("#", 1)[0].strip()]


def voice_halves(out: Path) -> tuple[dict[str, list[list[dict]]], dict[str, list[dict]]]:
    """speaker -> [first half, second half] of its records (disjoint audio); speaker -> all records."""
    manifest = json.loads((DATA / "manifest_utterances.json").read_text())
    pool = set(pool_speakers())
    records: dict[str, list[dict]] = {}
    for record in manifest:
        if record["speaker"] in pool:
            records.setdefault(record["speaker"], []).append({**record, "file": str(DATA / record["file"])})
    halves = {}
    for speaker, recs in sorted(records.items()):
        recs = sorted(recs, key=lambda r: r["file"])
        if len(recs) >= 2:
            halves[speaker] = [recs[0::2], recs[1::2]]
        elif recs[0]["duration"] >= 2 * MIN_HALF_SECONDS:
            audio, rate = sf.read(recs[0]["file"], dtype="float32", always_2d=True)
            middle = len(audio) // 2
            parts = []
            for index, piece in enumerate((audio[:middle], audio[middle:])):
                path = out / "halves" / f"{speaker}_{index}.wav"
                path.parent.mkdir(parents=True, exist_ok=True)
                sf.write(path, piece, rate)
                parts.append([{**recs[0], "file": str(path), "duration": len(piece) / rate}])
            halves[speaker] = parts
    return halves, records


def make_call(
    out: Path, name: str, seed: int, speakers: dict[str, list[dict]], babble: list[dict], noise: str
):
    """One two-party call of exactly *speakers* (records each), with *babble* talkers only as noise."""
    directory = out / name
    if not (directory / "index.json").exists():
        directory.mkdir(parents=True, exist_ok=True)
        # make_calls.py draws call speakers among records with a transcript and babble among all
        manifest = [
            {**r, "transcript": r.get("transcript") or "-"} for recs in speakers.values() for r in recs
        ]
        manifest += [{**r, "transcript": None} for r in babble]
        (directory / "manifest.json").write_text(json.dumps(manifest))
        (directory / "speakers.txt").write_text("\n".join([*speakers, *{r["speaker"] for r in babble}]))
        subprocess.run(
            [sys.executable, str(MAKE_CALLS), "--speakers-from", str(directory / "speakers.txt"),
             "--manifest", str(directory / "manifest.json"), "--seed", str(seed), "--n-calls", "1",
             "--out", str(directory), "--min-dur", "40", "--max-dur", "70", "--p-three", "0",
             "--noise", noise, "--prefix", name],
            check=True, capture_output=True,
        )  # fmt: skip
    index = json.loads((directory / "index.json").read_text())
    call_id = index["calls"][0]["call_id"]
    return directory / f"{call_id}.wav", directory / f"{call_id}.rttm"


def diarize(diarizer, call: Call) -> None:
    """The call's voiceprints, and how much of each reference voice each diarized speaker holds."""
    output = diarizer(decode(call.wav), centroids=True)
    labels = {t.speaker: t.speaker for t in output.exclusive_turns}
    call.prints = call_voiceprints(output.centroids, output.exclusive_turns, labels)
    reference = next(iter(load_rttm(call.rttm).values()))
    for turn in output.exclusive_turns:
        cropped = reference.crop(Segment(turn.start, turn.end), mode="intersection")
        for segment, _, ref in cropped.itertracks(yield_label=True):
            key = (ref, turn.speaker)
            call.overlap[key] = call.overlap.get(key, 0.0) + segment.duration


def score(calls: list[Call], gallery: list[EnrolledVoice], threshold: float) -> dict[str, float]:
    named = wrong = false = enrolled_total = unknown_total = 0.0
    false_voices = unknown_voices = 0
    for call in calls:
        names = {m.label: m.voice.name for m in match_voices(call.prints, gallery, threshold)}
        by_reference: dict[str, dict[str, float]] = {}
        for (ref, label), seconds in call.overlap.items():
            by_reference.setdefault(ref, {})[label] = seconds
        for ref, held in by_reference.items():
            total = sum(held.values())
            given = {label: names.get(label) for label in held}
            if ref == call.enrolled:
                enrolled_total += total
                named += sum(s for label, s in held.items() if given[label] == ref)
                wrong += sum(s for label, s in held.items() if given[label] not in (None, ref))
            else:
                unknown_total += total
                false += sum(s for label, s in held.items() if given[label] is not None)
                unknown_voices += 1
                false_voices += any(given[label] is not None for label in held if held[label] >= 1.0)
    return {
        "threshold": threshold,
        "named": named / enrolled_total if enrolled_total else 0.0,
        "wrong": wrong / enrolled_total if enrolled_total else 0.0,
        "false": false / unknown_total if unknown_total else 0.0,
        "false_voices": false_voices,
        "unknown_voices": unknown_voices,
    }


def table(rows: list[dict], chosen: float) -> str:
    lines = [
        "| threshold | enrolled speech named | named as another voice | unknown speech named "
        "| unknown voices named |",
        "|---|---|---|---|---|",
    ]
    for row in rows:
        mark = " ←" if row["threshold"] == chosen else ""
        lines.append(
            f"| {row['threshold']:.2f}{mark} | {100 * row['named']:.1f} % | {100 * row['wrong']:.1f} % "
            f"| {100 * row['false']:.1f} % | {row['false_voices']}/{row['unknown_voices']} |"
        )
    return "\n".join(lines)


def build_set(out: Path, seed: int, enrolled: list[str], unknown: list[str], halves, records, n_unknown: int):
    """Enrolment and test calls for *enrolled* voices, and unknown-only calls, all from *seed*."""
    rng = np.random.default_rng(seed)
    babble_pool = [r for s in unknown for r in records[s]]
    enrol_calls, test_calls = [], []

    def partner(exclude: set[str]) -> str:
        return str(rng.choice([s for s in unknown if s not in exclude]))

    def babble(exclude: set[str]) -> list[dict]:
        return [r for r in babble_pool if r["speaker"] not in exclude]

    for i, voice in enumerate(enrolled):
        first = partner({voice})
        second = partner({voice, first})
        noise = ("white", "pink")[i % 2]
        speakers = {voice: halves[voice][0], first: records[first]}
        wav, rttm = make_call(out, f"s{seed}_enrol{i}", seed * 100 + i, speakers, [], noise)
        enrol_calls.append(Call(f"enrol {voice}", wav, rttm, voice))
        wav, rttm = make_call(
            out, f"s{seed}_test{i}", seed * 100 + 50 + i,
            {voice: halves[voice][1], second: records[second]}, babble({second}), "babble",
        )  # fmt: skip
        test_calls.append(Call(f"test {voice}", wav, rttm, voice))
    for i in range(n_unknown):
        a = partner(set())
        b = partner({a})
        noise = ("babble", "white", "pink")[i % 3]
        speakers = {a: records[a], b: records[b]}
        wav, rttm = make_call(
            out, f"s{seed}_unknown{i}", seed * 100 + 80 + i, speakers, babble({a, b}), noise
        )
        test_calls.append(Call(f"unknown {a}+{b}", wav, rttm, None))
    return enrol_calls, test_calls


def enrol(call: Call) -> EnrolledVoice:
    """The enrolled print: the diarized speaker that holds most of the voice's speech."""
    held = {label: s for (ref, label), s in call.overlap.items() if ref == call.enrolled}
    label = max(held, key=held.__getitem__)
    return EnrolledVoice(call.enrolled or "", call.enrolled or "", None, call.prints[label].embedding)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--voices", type=int, default=6, help="enrolled voices per seed")
    parser.add_argument("--unknown-calls", type=int, default=6, help="calls of two unknown voices per seed")
    parser.add_argument("--dev-seed", type=int, default=23)
    parser.add_argument("--report-seed", type=int, default=24)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
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
    for split, seed in (("dev", args.dev_seed), ("report", args.report_seed)):
        enrol_calls, test_calls = build_set(
            work, seed, enrolled[split], unknown[split], halves, records, args.unknown_calls
        )
        for call in enrol_calls + test_calls:
            diarize(diarizer, call)
            print(f"{split}: {call.name}: {len(call.prints)} speakers", flush=True)
        sets[split] = (enrol_calls, test_calls)
    gallery = [enrol(call) for split in sets for call in sets[split][0]]

    rows = {split: [score(sets[split][1], gallery, t) for t in THRESHOLDS] for split in sets}
    passing = [r["threshold"] for r in rows["dev"] if r["false"] <= BUDGET and r["wrong"] <= BUDGET]
    chosen = min(passing) if passing else max(THRESHOLDS)
    at = {split: score(sets[split][1], gallery, chosen) for split in sets}
    service = {split: score(sets[split][1], gallery, MATCH_THRESHOLD) for split in sets}

    audio = sum(sf.info(c.wav).duration for s in sets.values() for group in s for c in group)
    text = [
        "# Naming enrolled voices: the similarity threshold (issue #23)",
        "",
        f"`python -m bench.identify_threshold --voices {k} --unknown-calls {args.unknown_calls} "
        f"--dev-seed {args.dev_seed} --report-seed {args.report_seed}`: {len(gallery)} voices enrolled, "
        f"{sum(len(s[0]) + len(s[1]) for s in sets.values())} calls ({audio / 60:.1f} min), 8 kHz μ-law, "
        "enrolment calls with white or pink line noise, test calls with babble or other noise "
        "and other partners.",
        "",
        f"## Dev (seed {args.dev_seed}): threshold chosen here",
        "",
        table(rows["dev"], chosen),
        "",
        f"## Report (seed {args.report_seed}: other voices, partners, noise)",
        "",
        table(rows["report"], chosen),
        "",
        f"Chosen on dev: **{chosen:.2f}** (lowest with wrong and false names ≤ {100 * BUDGET:.0f} %). "
        f"On the report seed: {100 * at['report']['named']:.1f} % of enrolled speech named, "
        f"{100 * at['report']['false']:.1f} % of unknown speech named. The service uses "
        f"MATCH_THRESHOLD = {MATCH_THRESHOLD:.2f}: report seed "
        f"{100 * service['report']['named']:.1f} % named, "
        f"{100 * service['report']['false']:.1f} % false.",
    ]
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "identify_threshold.md").write_text("\n".join(text) + "\n")
    similarity = {
        split: {
            call.name: {
                label: {v.name: round(float(vp.embedding @ v.embedding), 3) for v in gallery}
                for label, vp in call.prints.items()
            }
            for call in sets[split][1]
        }
        for split in sets
    }
    (args.out / "identify_threshold.json").write_text(
        json.dumps({"rows": rows, "chosen": chosen, "enrolled": enrolled, "similarity": similarity}, indent=1)
    )
    print("\n".join(text))


if __name__ == "__main__":
    main()
