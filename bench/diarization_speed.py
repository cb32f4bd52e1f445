"""Diarization alone, fast path against pyannote's own way, on the benchmark's mono calls.

    python -m bench.diarization_speed            # writes bench/results/diarization_speed.{json,md}

The full benchmark times diarization while ASR runs beside it in the other
worker, so its diarization column moves with the thread layout.  This one
runs only the diarizer, in this process, on the service's diarization thread
count (one core on a 2-core machine), once with the service's defaults and
once the naive way (``EMBEDDING_MODE=naive``, both models on torch, no turn
reassignment), and
scores both against the reference so that speed is never bought with DER.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from pathlib import Path

import torch

from diarize_service.app import build_workers
from diarize_service.config import Settings
from diarize_service.pipeline.audio import decode
from diarize_service.pipeline.diarization.diarizer import Diarizer
from diarize_service.pipeline.workers import load_diarizer

from . import datasets
from .metrics import annotation, der_components

ROOT = Path(__file__).resolve().parent.parent
VARIANTS = {
    "service": {},
    "naive": {
        "embedding_mode": "naive",
        "segmentation_runtime": "torch",
        "embedding_runtime": "torch",
        "turn_reassignment": False,  # pyannote's pipeline has no such step
    },
    "fp32": {"segmentation_precision": "fp32"},  # tuning: the service without the bf16 LSTM
    "no_reassignment": {"turn_reassignment": False},  # tuning: clustering alone
}
REPORTED = ("service", "naive")


def diarizer(settings: Settings, **overrides) -> Diarizer:
    """The diarization worker's own model, built the same way, with *overrides* of its config."""
    config = dataclasses.replace(build_workers(settings).diarization.config, **overrides)
    return load_diarizer(config)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n-calls", type=int, default=4)
    parser.add_argument("--seed", type=int, default=101)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    parser.add_argument("--variants", default=",".join(REPORTED), help="which of: " + ", ".join(VARIANTS))
    args = parser.parse_args()

    settings = Settings()
    torch.set_num_threads(settings.resolved_diarization_threads)
    calls = datasets.make_calls(
        ROOT / "bench" / "calls" / f"seed{args.seed}_n{args.n_calls}", args.seed, args.n_calls
    )
    items = datasets.simulated_calls(calls, stereo=False)
    audio = {item.name: decode(item.audio) for item in items}
    duration = sum(len(a) for a in audio.values()) / 16_000
    report = {"threads": settings.resolved_diarization_threads, "audio_seconds": duration, "variants": {}}
    for name in args.variants.split(","):
        overrides = VARIANTS[name]
        model = diarizer(settings, **overrides)
        model(audio[items[0].name][: 16_000 * 20])  # warm-up
        seconds, errors, total = 0.0, 0.0, 0.0
        for item in items:
            t = time.perf_counter()
            out = model(audio[item.name])
            seconds += time.perf_counter() - t
            turns = [{"start": x.start, "end": x.end, "speaker": x.speaker} for x in out.turns]
            der = der_components(item.reference, annotation(turns), item.uem, collar=0.25)
            errors += der["der"] * der["total"]
            total += der["total"]
        report["variants"][name] = {"rtf": seconds / duration, "der25": errors / total}
        print(f"{name:8s} {seconds / duration:.3f} x real time, DER c=0.25 {errors / total:.1%}", flush=True)
    if set(report["variants"]) != set(REPORTED):
        return  # a partial run (tuning) writes no results
    speedup = report["variants"]["naive"]["rtf"] / report["variants"]["service"]["rtf"]
    report["speedup"] = speedup
    lines = [
        f"# Diarization alone ({report['threads']} thread(s), {duration:.0f} s of mono calls, "
        f"seed {args.seed})",
        "",
        "| variant | × real time | DER c=0.25 |",
        "|---|---|---|",
        *(f"| {k} | {v['rtf']:.3f} | {v['der25']:.1%} |" for k, v in report["variants"].items()),
        "",
        f"The service's diarization is {speedup:.1f}x faster than the naive pipeline.",
    ]
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "diarization_speed.json").write_text(json.dumps(report, indent=1))
    (args.out / "diarization_speed.md").write_text("\n".join(lines) + "\n")
    print(lines[-1])


if __name__ == "__main__":
    main()
