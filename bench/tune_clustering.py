"""Sweep clustering hyper-parameters of the bundled diarizer on dev data.

    python -m bench.tune_clustering [--seed 1 --n-calls 6]

Segmentation and embeddings are computed once per file, then every
(threshold, merge threshold, minimum cluster size) is scored by DER at collar
0.25 on dev calls (never the benchmark's seed 101), the AMI development/train
excerpts and pyannote's real sample call.  Prints the best settings;
DEFAULT_THRESHOLD, DEFAULT_MERGE_THRESHOLD and CLUSTERING_METHOD in
diarize_service/pipeline/diarization/diarizer.py hold the chosen ones.
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
from diarize_service.pipeline.diarization.diarizer import Diarizer

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
    items += datasets.pyannote_sample()  # the one real telephone call: guards against over-splitting

    diarizer = Diarizer(
        resolve_diarization("bundled", None, False),
        segmentation_step=args.segmentation_step,
        embedding_mode=args.embedding_mode,
    )
    pipeline = diarizer.pipeline
    pipeline.training = True  # keeps the segmentation cached in each file dict
    compute_embeddings = pipeline.get_embeddings

    def cached_embeddings(file, *args_, **kwargs):
        if "_embeddings" not in file:
            file["_embeddings"] = compute_embeddings(file, *args_, **kwargs)
        return file["_embeddings"]

    pipeline.get_embeddings = cached_embeddings
    files = []
    for item in items:
        audio = decode(item.audio)
        files.append(
            ({"waveform": torch.from_numpy(audio)[None], "sample_rate": 16000, "uri": item.name}, item)
        )

    # merge threshold <= threshold: no merge step (plain agglomerative clustering)
    grid = itertools.product(np.arange(0.30, 0.61, 0.05), [0.0, 0.5, 0.6, 0.7], [6, 12])
    scores = []
    for threshold, merge, min_size in grid:
        pipeline.instantiate(
            {
                "segmentation": {"min_duration_off": 0.0},
                "clustering": {
                    "method": "centroid",
                    "threshold": float(threshold),
                    "min_cluster_size": min_size,
                },
            }
        )
        pipeline.clustering.merge_threshold = merge
        err = {"calls": [0.0, 0.0], "ami": [0.0, 0.0], "sample": [0.0, 0.0]}
        count_ok = 0
        for file, item in files:
            out = pipeline(file).speaker_diarization
            d = der_components(item.reference, out, item.uem, 0.25)
            key = "calls" if item.group.startswith("calls") else item.group
            err[key][0] += d["der"] * d["total"]
            err[key][1] += d["total"]
            count_ok += len(out.labels()) == len(item.reference.labels())
        der = {k: v[0] / max(v[1], 1e-9) for k, v in err.items()}
        scores.append(
            (der["calls"], der["ami"], der["sample"], count_ok, round(float(threshold), 2), merge, min_size)
        )
        print(
            f"thr={threshold:.2f} merge={merge:.1f} min={min_size:2d}  calls DER={der['calls']:.3f} "
            f"AMI DER={der['ami']:.3f} sample DER={der['sample']:.3f} count ok={count_ok}/{len(files)}",
            flush=True,
        )
    print("\nbest (calls DER + 0.5 AMI DER + sample DER):")
    for s in sorted(scores, key=lambda s: s[0] + 0.5 * s[1] + s[2])[:8]:
        print(s)


if __name__ == "__main__":
    main()
