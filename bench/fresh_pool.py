"""Fresh-seed calls pooled over seeds, with an interval by call (issue #22).

One fresh seed is four calls, and a single hard pairing (two FSDD digit
readers, two voices with one recording each) moves its DER by ten points,
so a four-call figure says more about which pairs the seed drew than about
the service.  Pooling every fresh call measured on the same code, and
bootstrapping over calls (resampling whole calls, the pooled DER of each
resample), says how far the figure can be trusted; the benchmark's own
four calls get the same treatment, so the two are compared like for like.

``python -m bench.fresh_pool LABEL [LABEL ...]`` pools the saved reports
``bench/results/<LABEL>.json`` (fresh runs or the benchmark) by group.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np
from scipy.stats import bootstrap

from .paths import ROOT

CONFIDENCE = 0.9
KEYS = {"der25": "DER c=0.25", "der25_audible": "audible reference"}  # row key -> column name


def group_of(row_group: str) -> str:
    """``calls_mono s123456`` -> ``calls_mono`` (a benchmark row's group is already bare)."""
    return row_group.rsplit(" s", 1)[0]


def _errors(der: dict[str, float]) -> float:
    return der["miss"] + der["false_alarm"] + der["confusion"]


def pooled(rows: list[dict[str, Any]], key: str = "der25") -> dict[str, Any]:
    """Pooled DER of *rows* and its bootstrap interval by call.

    The figure is error time over reference time, the same sum as
    :func:`bench.summary.aggregate`'s (which needs whole benchmark rows);
    it is computed here from the arrays the bootstrap resamples.
    """
    errors = np.array([_errors(r[key]) for r in rows], dtype=float)
    totals = np.array([r[key]["total"] for r in rows], dtype=float)
    der = float(errors.sum() / totals.sum())
    low = high = der
    if len(rows) > 1 and np.ptp(errors / totals) > 0:
        result = bootstrap(
            (errors, totals),
            lambda e, t, axis: e.sum(axis=axis) / t.sum(axis=axis),
            paired=True,
            vectorized=True,
            confidence_level=CONFIDENCE,
            method="percentile",
            n_resamples=5000,
            rng=np.random.default_rng(0),
        )
        low, high = float(result.confidence_interval.low), float(result.confidence_interval.high)
    return {"der": der, "low": low, "high": high}


def pool_by_group(rows: list[dict[str, Any]], prefix: str = "calls_mono") -> dict[str, dict[str, Any]]:
    """:func:`pooled` for every group whose name starts with *prefix*, seeds merged.

    Both references are pooled: the full one, and the audible one where the
    rows have it (speech 10 dB or more under the line noise left out,
    :mod:`bench.audibility`), because how much of a simulated call is buried
    under its line noise varies from seed to seed as much as the voices do.
    """
    groups = dict.fromkeys(group_of(r["group"]) for r in rows if r["group"].startswith(prefix))
    pools: dict[str, dict[str, Any]] = {}
    for group in groups:
        members = [r for r in rows if group_of(r["group"]) == group]
        pools[group] = {"calls": len(members)}
        for key in KEYS:
            if all(key in r for r in members):
                pools[group][key] = pooled(members, key)
    return pools


def markdown_table(pools: dict[str, dict[str, Any]]) -> list[str]:
    level = f"{CONFIDENCE:.0%}"
    header = "".join(f" {name}, pooled | {level} interval by call |" for name in KEYS.values())
    lines = [f"| group | calls |{header}", "|---|---|" + "---|---|" * len(KEYS)]
    for group, pool in pools.items():
        cells = []
        for key in KEYS:
            p = pool.get(key)
            cells += (
                [f"{100 * p['der']:.1f}%", f"{100 * p['low']:.1f}-{100 * p['high']:.1f}%"]
                if p
                else ["–", "–"]
            )
        lines.append(f"| {group} | {pool['calls']} | " + " | ".join(cells) + " |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("labels", nargs="+", help="reports in bench/results (without .json)")
    parser.add_argument("--prefix", default="calls_mono", help="groups to pool (name prefix)")
    parser.add_argument("--results", type=Path, default=ROOT / "bench" / "results")
    args = parser.parse_args()
    rows = [
        row
        for label in args.labels
        for row in json.loads((args.results / f"{label}.json").read_text())["rows"]
    ]
    print(f"Pooled: {', '.join(args.labels)}\n")
    print("\n".join(markdown_table(pool_by_group(rows, args.prefix))))


if __name__ == "__main__":
    main()
