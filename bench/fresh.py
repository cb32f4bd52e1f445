"""``./build.sh bench --fresh``: the simulated calls again, on seeds drawn now (issue #22).

Every rule of the pipeline was chosen on dev seeds (1-3 and a few others)
and reported on the benchmark's seeds (101, 205, 302), which have been looked
at often enough to be half dev data by now.  Fresh seeds are drawn from the
operating system's random source, so nobody has seen their calls; the run
prints them, and ``--seeds A,B`` repeats it exactly (make_calls.py is
deterministic per seed).

Per seed it runs mono and stereo calls with mixed line noise (white, pink or
babble per call, as the benchmark's ``calls_mono``) and the same
conversations with babble all call long (make_calls.py draws the call before
its noise, so a seed's babble calls are its mix calls with other noise), and
reports each group's pooled DER with the spread over calls (min / median /
max of the per-call DER), and how many channels came back in a language
other than English (every simulated speaker speaks English).  Each group is
also pooled over all the run's seeds, with an interval by call
(:mod:`bench.fresh_pool`).
``--num-speakers N`` / ``--min-speakers N`` send that hint with every call,
as a centre that knows its calls would.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import statistics
import time
from pathlib import Path
from typing import Any

from diarize_service.jobs.models import JobOptions

from . import datasets
from .fresh_pool import group_of, markdown_table, pool_by_group
from .run import GROUPS as DEFAULT_GROUPS
from .run import ROOT, aggregate, hints_sent, run_pipeline

GROUPS = ("calls_mono", "calls_stereo", "calls_mono_babble", "calls_stereo_babble")
# Seeds that chose or reported a rule somewhere (dev 1-3, tests 7, benchmark 101, 201-205, 302).
USED = frozenset({1, 2, 3, 7, 101, 201, 202, 203, 204, 205, 302})


def draw_seeds(count: int) -> list[int]:
    """*count* new seeds from the OS's random source (six digits, none of the used ones)."""
    seeds: list[int] = []
    while len(seeds) < count:
        seed = 100_000 + int.from_bytes(os.urandom(4), "big") % 900_000
        if seed not in USED and seed not in seeds:
            seeds.append(seed)
    return seeds


def items_for(seed: int, n_calls: int, groups: list[str]) -> list[datasets.BenchItem]:
    """The seed's calls for *groups*, each group named ``<group> s<seed>``."""
    calls_dir = ROOT / "bench" / "calls"
    items: list[datasets.BenchItem] = []
    for noise, suffix in (("mix", ""), ("babble", "_babble")):
        wanted = [g for g in groups if g in (f"calls_mono{suffix}", f"calls_stereo{suffix}")]
        if not wanted:
            continue
        out = calls_dir / f"fresh{suffix}_seed{seed}_n{n_calls}"
        calls = datasets.make_calls(out, seed, n_calls, noise=noise)
        for group in wanted:
            stereo = group.startswith("calls_stereo")
            items += datasets.simulated_calls(calls, stereo=stereo, group=f"{group} s{seed}", audible=True)
    return items


def wrong_languages(rows: list[dict[str, Any]], expected: str = "en") -> list[str]:
    """``call/channel=language`` for every channel that came back in another language than *expected*."""
    return [
        f"{row['item']}/{channel}={info['language']}"
        for row in rows
        for channel, info in row.get("languages", {}).items()
        if info["language"] != expected
    ]


def summarise(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """A group's pooled figures (as the benchmark's) plus the per-call spread and language misses."""
    summary = aggregate(rows)
    per_call = sorted(r["der25"]["der"] for r in rows)
    summary["per_call_der25"] = {
        "min": round(per_call[0], 4),
        "median": round(statistics.median(per_call), 4),
        "max": round(per_call[-1], 4),
    }
    summary["wrong_language"] = wrong_languages(rows)
    summary["channels"] = sum(len(r.get("languages", {})) for r in rows)
    return summary


def _pct(x: float | None) -> str:
    return "–" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{100 * x:.1f}%"


def markdown(report: dict[str, Any]) -> str:
    seeds = ",".join(map(str, report["seeds"]))
    hint_flags = "".join(f" --{k.replace('_', '-')} {v}" for k, v in report.get("hints", {}).items())
    lines = [
        f"# Fresh seeds `{report['label']}`",
        "",
        f"{report['machine']}; seeds {seeds} (repeat: `./build.sh bench --seeds {seeds} "
        f"--n-calls {report['n_calls']}{hint_flags}`); {report['date']}.",
        "",
        "| group | seed | calls | DER c=0.25 (miss/FA/conf) | per call min / median / max | audible | WER "
        "| spk count ok | channels not `en` |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, a in report["groups"].items():
        group, seed = name.rsplit(" s", 1)
        d, spread = a["der25"], a["per_call_der25"]
        der = f"{_pct(d['der'])} ({_pct(d['miss'])}/{_pct(d['false_alarm'])}/{_pct(d['confusion'])})"
        per_call = " / ".join(_pct(spread[k]) for k in ("min", "median", "max"))
        lines.append(
            f"| {group} | {seed} | {a['items']} | {der} | {per_call} | {_pct(a['der25_audible']['der'])} "
            f"| {_pct(a['wer'])} | {a['speaker_count_correct']}/{a['items']} "
            f"| {len(a['wrong_language'])}/{a['channels']} |"
        )
    misses = [m for a in report["groups"].values() for m in a["wrong_language"]]
    lines += ["", "Channels in another language: " + (", ".join(misses) if misses else "none.")]
    if len(report["seeds"]) > 1 and report.get("pooled"):
        lines += ["", "All seeds of this run pooled (`python -m bench.fresh_pool` pools saved runs):", ""]
        lines += markdown_table(report["pooled"])
    return "\n".join(lines + per_call_table(report["rows"])) + "\n"


def per_call_table(rows: list[dict[str, Any]]) -> list[str]:
    """Each call's DER in every group, with the voices on it.

    A fresh seed draws new pairings of the same few pool voices, so a set's
    figure swings with which pairs it drew (two FSDD digit readers, or two
    voices with one recording each); this table shows which calls did it.
    """
    groups = list(dict.fromkeys(group_of(r["group"]) for r in rows))
    calls: dict[str, dict[str, Any]] = {}
    for row in rows:
        call = calls.setdefault(row["item"].split(".")[0], {"voices": row.get("ref_labels")})
        call[group_of(row["group"])] = row["der25"]["der"]
    lines = ["", "Per call, DER c=0.25:", "", "| call | voices | " + " | ".join(groups) + " |"]
    lines.append("|---|---|" + "---|" * len(groups))
    for name, call in calls.items():
        voices = ", ".join(call["voices"]) if call["voices"] else "–"
        lines.append(f"| {name} | {voices} | " + " | ".join(_pct(call.get(g)) for g in groups) + " |")
    return lines


def run(args, settings, machine: str, hints: JobOptions) -> None:
    """The fresh-seed run behind ``--fresh`` / ``--seeds``: writes ``<label>.json`` and ``.md``."""
    seeds = [int(s) for s in args.seeds.split(",") if s] if args.seeds else draw_seeds(args.fresh_count)
    listed = ",".join(map(str, seeds))
    print(f"fresh seeds: {listed}  (repeat with --seeds {listed})", flush=True)
    asked = args.groups.split(",")
    groups = list(GROUPS) if asked == list(DEFAULT_GROUPS) else [g for g in GROUPS if g in asked]
    items = [item for seed in seeds for item in items_for(seed, args.n_calls, groups)]
    rows = asyncio.run(run_pipeline(items, settings, hints))
    names = list(dict.fromkeys(item.group for item in items))
    report = {
        "label": args.label,
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "machine": machine,
        "seeds": seeds,
        "n_calls": args.n_calls,
        "hints": hints_sent(hints),
        "groups": {name: summarise([r for r in rows if r["group"] == name]) for name in names},
        "pooled": pool_by_group(rows, prefix="calls_"),
        "rows": rows,
    }
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{args.label}.json").write_text(json.dumps(report, indent=1, default=float))
    (out / f"{args.label}.md").write_text(markdown(report))
    print(markdown(report))
