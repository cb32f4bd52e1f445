"""Sweep clustering hyper-parameters of the bundled diarizer on dev data.

    python -m bench.tune_clustering [--seed 1 --n-calls 6]

Segmentation and embeddings are computed once per file (pyannote's training
cache), then every clustering threshold is scored by DER at
collar 0.25 on dev calls (seed 1, never the benchmark's seed) and the AMI
development/train excerpts.  Prints the best settings; DEFAULT_CLUSTERING in
diarize_service/pipeline/diarization.py holds the chosen ones (one
threshold for narrowband calls, one for wideband audio).
"""

from __future__ import annotations

import argparse
import itertools
import os
from pathlib import Path

import numpy as np
import torch

from diarize_service.models.registry import resolve_diarization
from diarize_service.pipeline.audio import decode
from diarize_service.pipeline.diarization import Diarizer

from . import datasets
from .metrics import der_components

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--n-calls", type=int, default=6)
    parser.add_argument("--ami", type=int, default=6, help="AMI excerpts to include (dev+train only)")
    parser.add_argument("--segmentation-step", type=float, default=0.1)
    parser.add_argument("--p-three", type=float, default=0.2, help="share of three-party calls")
    parser.add_argument("--embedding-mode", default="file", choices=["file", "naive"])
    args = parser.parse_args()
    torch.set_num_threads(len(os.sched_getaffinity(0)))

    calls = datasets.make_calls(
        ROOT / "bench" / "calls" / f"tune_seed{args.seed}_n{args.n_calls}_p{args.p_three}",
        args.seed,
        args.n_calls,
        p_three=args.p_three,
    )
    items = datasets.simulated_calls(calls)
    items += [i for i in datasets.ami() if not i.name.startswith("tst")][: args.ami]

    diarizer = Diarizer(
        resolve_diarization("bundled", None, False),
        segmentation_step=args.segmentation_step,
        embedding_mode=args.embedding_mode,
    )
    pipeline = diarizer.pipeline
    pipeline.training = True  # keeps segmentation + embeddings cached in each file dict
    files = []
    for item in items:
        audio = decode(item.audio)
        files.append(
            ({"waveform": torch.from_numpy(audio)[None], "sample_rate": 16000, "uri": item.name}, item)
        )

    grid = list(itertools.product(["centroid"], np.arange(0.40, 0.96, 0.05), [12]))
    scores = []
    for method, threshold, min_size in grid:
        pipeline.instantiate(
            {
                "segmentation": {"min_duration_off": 0.0},
                "clustering": {"method": method, "threshold": float(threshold), "min_cluster_size": min_size},
            }
        )
        err = {"calls": [0.0, 0.0], "ami": [0.0, 0.0]}
        count_ok = 0
        for file, item in files:
            out = pipeline(file).speaker_diarization
            d = der_components(item.reference, out, item.uem, 0.25)
            key = "calls" if item.group.startswith("calls") else "ami"
            err[key][0] += d["der"] * d["total"]
            err[key][1] += d["total"]
            count_ok += len(out.labels()) == len(item.reference.labels())
        calls_der = err["calls"][0] / err["calls"][1]
        ami_der = err["ami"][0] / max(err["ami"][1], 1e-9)
        scores.append((calls_der, ami_der, count_ok, method, round(float(threshold), 2), min_size))
        print(
            f"{method:8s} thr={threshold:.2f} min={min_size:2d}  calls DER={calls_der:.3f} "
            f"AMI DER={ami_der:.3f} count ok={count_ok}/{len(files)}",
            flush=True,
        )
    # Calls are telephone-band, AMI wideband: the diarizer keeps one threshold for each.
    print("\nnarrowband (calls), best first:")
    for s in sorted(scores, key=lambda s: s[0])[:4]:
        print(s)
    print("wideband (AMI), best first:")
    for s in sorted(scores, key=lambda s: s[1])[:4]:
        print(s)


if __name__ == "__main__":
    main()
