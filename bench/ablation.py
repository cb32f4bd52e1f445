"""Does each accuracy rule still earn its place on calls nobody tuned it on? (issue #22, ask 3)

    python -m bench.ablation --seeds A,B [--n-calls 4] [--rules reassignment,leak_blips]
    python -m bench.ablation --fresh            # draws the seeds (bench/fresh.py)

Every rule of the pipeline was chosen on dev seeds.  This runs the service's
own pipeline on fresh-seed calls once as it is and once per rule with only
that rule taken out, and prints, per rule, the pooled DER (c=0.25) and WER
with and without it and how many calls it helps or hurts.  A rule whose
removal leaves the fresh calls as good or better has not earned its place.

A rule is taken out either by a setting the service already has, or by
replacing its function with one that hands its input back unchanged.  The
models run in worker processes, so each configuration runs in a child
Python whose ``sitecustomize`` (a temporary directory put first on
``PYTHONPATH``, read by every process the child starts) makes the
replacement before anything else is imported.  Mono rules run on the mono
calls, split-mode rules on the stereo calls.  Writes
``bench/results/<label>.{json,md}``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .run import ROOT

SITECUSTOMIZE = """
import importlib, json, os
for spec in json.loads(os.environ.get("BENCH_ABLATE", "[]")):
    module = importlib.import_module(spec["module"])
    if spec["returns"] == "first":
        setattr(module, spec["name"], lambda *args, **kwargs: args[0])
    else:
        setattr(module, spec["name"], lambda *args, **kwargs: [])
"""


@dataclass(frozen=True)
class Rule:
    """How to take one rule out: settings, and/or functions replaced by a pass-through."""

    mode: str  # "mono" or "stereo": the calls it acts on
    about: str
    settings: dict[str, str] = field(default_factory=dict)
    patches: tuple[tuple[str, str, str], ...] = ()  # (module, function, "first" | "empty")


SPEECH = "diarize_service.pipeline.channels.speech"
RULES: dict[str, Rule] = {
    "merge_split_voices": Rule(
        "mono", "clustering: merge clusters that never share a window", {"CLUSTERING_MERGE_THRESHOLD": "0.01"}
    ),
    "turn_reassignment": Rule(
        "mono", "each stretch moved to the voice it sounds like", {"TURN_REASSIGNMENT": "false"}
    ),
    "mono_background": Rule(
        "mono",
        "babble near the noise floor dropped from mono timelines",
        patches=(("diarize_service.pipeline.background", "drop_background_turns", "first"),),
    ),
    "recheck_unwritten": Rule(
        "mono", "speech left without words decoded again", {"RECHECK_UNWRITTEN_SPEECH": "false"}
    ),
    "diarizer_speech_recheck": Rule(
        "mono",
        "speech the diarizer heard and ASR wrote nothing for decoded again",
        patches=(("diarize_service.pipeline.processor", "heard_by_diarizer", "empty"),),
    ),
    "stacked_repeats": Rule(
        "mono",
        "made-up words stacked at one instant removed",
        patches=(("diarize_service.pipeline.asr.loops", "find_stacked", "empty"),),
    ),
    "mono_floor_pauses": Rule(
        "mono",
        "pauses at the noise floor cut from mono turns",
        patches=(("diarize_service.pipeline.background", "cut_floor_pauses", "first"),),
    ),
    "mono_digit_pauses": Rule(
        "mono",
        "pauses between read-out digits cut from mono timelines",
        patches=(("diarize_service.pipeline.channels.digit_pauses", "cut_turn_digit_pauses", "first"),),
    ),
    "leak_blips": Rule(
        "stereo",
        "short leak verdicts inside the party's speech kept as overlap",
        patches=((SPEECH, "bridge_blips", "first"),),
    ),
    "background_regions": Rule(
        "stereo",
        "regions 10 dB under the channel's loud speech dropped",
        patches=((SPEECH, "drop_background", "first"),),
    ),
    "near_floor_regions": Rule(
        "stereo",
        "regions near the noise floor dropped (babble)",
        patches=((SPEECH, "drop_near_floor", "first"),),
    ),
    "quiet_runs": Rule(
        "stereo", "quiet runs inside regions cut", patches=((SPEECH, "cut_quiet_runs", "first"),)
    ),
    "unheard_regions": Rule(
        "stereo",
        "long regions the VAD did not hear need words (hold music)",
        patches=((SPEECH, "drop_unheard", "first"),),
    ),
    "digit_pauses": Rule(
        "stereo",
        "pauses between read-out digits cut",
        patches=(("diarize_service.pipeline.channels.digit_pauses", "cut_digit_pauses", "first"),),
    ),
    "channel_voices": Rule("stereo", "a second voice inside a channel", {"CHANNEL_VOICES": "false"}),
}


def child_env(rule: Rule | None, tmp: Path) -> dict[str, str]:
    """The environment of a child Python that runs the pipeline with *rule* taken out (None: as it is)."""
    env = dict(os.environ)
    if rule is not None:
        env.update(rule.settings)
        (tmp / "sitecustomize.py").write_text(SITECUSTOMIZE)
        env["BENCH_ABLATE"] = json.dumps([{"module": m, "name": f, "returns": r} for m, f, r in rule.patches])
        env["PYTHONPATH"] = os.pathsep.join([str(tmp), str(ROOT), env.get("PYTHONPATH", "")])
    return env


def run_config(name: str, seeds: list[int], n_calls: int, mode: str, out: Path) -> list[dict[str, Any]]:
    """Rows of one configuration (``baseline`` or a rule taken out), from a child process; cached."""
    target = out / f"{name}.{mode}.json"
    if not target.exists():
        with tempfile.TemporaryDirectory() as tmp:
            command = [sys.executable, "-m", "bench.ablation", "--child", mode]
            command += [
                "--seeds",
                ",".join(map(str, seeds)),
                "--n-calls",
                str(n_calls),
                "--write",
                str(target),
            ]
            subprocess.run(command, cwd=ROOT, env=child_env(RULES.get(name), Path(tmp)), check=True)
    return json.loads(target.read_text())


def child(mode: str, seeds: list[int], n_calls: int, target: Path) -> None:
    import asyncio

    from diarize_service.config import Settings

    from .fresh import items_for
    from .run import run_pipeline

    items = [i for s in seeds for i in items_for(s, n_calls, [f"calls_{mode}", f"calls_{mode}_babble"])]
    rows = asyncio.run(run_pipeline(items, Settings()))
    target.write_text(json.dumps(rows, default=float))


def pooled(rows: list[dict[str, Any]], key: str = "der25") -> float:
    if key == "wer":
        scored = [r for r in rows if "wer" in r]
        errors = sum(r["wer"]["errors"] for r in scored)
        return errors / max(sum(r["wer"]["ref_words"] for r in scored), 1)
    errors = sum(r[key]["der"] * r[key]["total"] for r in rows)
    return errors / max(sum(r[key]["total"] for r in rows), 1e-9)


def compare(base: list[dict[str, Any]], without: list[dict[str, Any]]) -> dict[str, Any]:
    """Pooled DER and WER with and without the rule; calls it helps (lower DER with it) or hurts."""
    before = {(r["group"], r["item"]): r["der25"]["der"] for r in base}
    deltas = [before[(r["group"], r["item"])] - r["der25"]["der"] for r in without]
    return {
        "der_with": pooled(base),
        "der_without": pooled(without),
        "wer_with": pooled(base, "wer"),
        "wer_without": pooled(without, "wer"),
        "helps": sum(d < -0.005 for d in deltas),
        "hurts": sum(d > 0.005 for d in deltas),
        "calls": len(deltas),
        "largest_help": -min(deltas, default=0.0),
        "largest_hurt": max(deltas, default=0.0),
    }


def markdown(label: str, seeds: list[int], n_calls: int, table: dict[str, dict[str, Any]]) -> str:
    listed = ",".join(map(str, seeds))
    lines = [
        f"# Rules on fresh seeds `{label}`",
        "",
        f"`python -m bench.ablation --seeds {listed} --n-calls {n_calls}`: mix and babble calls of each "
        "seed; mono rules on the mono calls, split-mode rules on the stereo calls. DER c=0.25 pooled.",
        "",
        "| rule | calls | DER with → without | WER with → without | calls it helps / hurts (±0.5 pt) "
        "| largest help / hurt (pt) | earns its place |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, c in table.items():
        earns = c["der_without"] > c["der_with"] + 0.001 or c["wer_without"] > c["wer_with"] + 0.001
        lines.append(
            f"| `{name}`: {RULES[name].about} | {RULES[name].mode} ×{c['calls']} "
            f"| {100 * c['der_with']:.1f} → {100 * c['der_without']:.1f} % "
            f"| {100 * c['wer_with']:.1f} → {100 * c['wer_without']:.1f} % | {c['helps']} / {c['hurts']} "
            f"| {100 * c['largest_help']:.1f} / {100 * c['largest_hurt']:.1f} "
            f"| {'yes' if earns else '**no**'} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seeds", default="")
    parser.add_argument("--fresh", action="store_true", help="draw two new seeds")
    parser.add_argument("--n-calls", type=int, default=4)
    parser.add_argument("--rules", default=",".join(RULES))
    parser.add_argument("--label", default="ablation")
    parser.add_argument("--child", choices=["mono", "stereo"], help=argparse.SUPPRESS)
    parser.add_argument("--write", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.fresh:
        from .fresh import draw_seeds

        args.seeds = ",".join(map(str, draw_seeds(2)))
    seeds = [int(s) for s in args.seeds.split(",") if s]
    if not seeds:
        parser.error("--seeds or --fresh")
    if args.child:
        return child(args.child, seeds, args.n_calls, args.write)
    print(f"seeds: {args.seeds}", flush=True)
    work = ROOT / "bench" / "calls" / f"ablation_{args.label}"
    work.mkdir(parents=True, exist_ok=True)
    table = {}
    for name in [r for r in args.rules.split(",") if r]:
        mode = RULES[name].mode
        base = run_config("baseline", seeds, args.n_calls, mode, work)
        table[name] = compare(base, run_config(name, seeds, args.n_calls, mode, work))
        print(name, {k: round(v, 4) for k, v in table[name].items()}, flush=True)
    out = ROOT / "bench" / "results"
    (out / f"{args.label}.json").write_text(
        json.dumps({"seeds": seeds, "n_calls": args.n_calls, "rules": table}, indent=1)
    )
    text = markdown(args.label, seeds, args.n_calls, table)
    (out / f"{args.label}.md").write_text(text)
    print(text)
    write_baseline(work, out / f"{args.label}_baseline", seeds, args.n_calls)


def write_baseline(work: Path, target: Path, seeds: list[int], n_calls: int) -> None:
    """The pipeline as it is on these seeds, as ``bench --fresh`` reports it (the runs are the same)."""
    import time

    from .fresh import markdown as fresh_markdown
    from .fresh import summarise

    rows = [
        r
        for mode in ("mono", "stereo")
        if (work / f"baseline.{mode}.json").exists()
        for r in json.loads((work / f"baseline.{mode}.json").read_text())
    ]
    names = list(dict.fromkeys(r["group"] for r in rows))
    report = {
        "label": target.name,
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "machine": f"{os.uname().machine}, {len(os.sched_getaffinity(0))} cores",
        "seeds": seeds,
        "n_calls": n_calls,
        "groups": {name: summarise([r for r in rows if r["group"] == name]) for name in sorted(names)},
    }
    target.with_suffix(".md").write_text(fresh_markdown(report))


if __name__ == "__main__":
    main()
