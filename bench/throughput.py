"""Throughput: how many hours of calls one service instance clears per hour, jobs submitted at once.

    python -m bench.throughput                      # seed-101 calls, mono and stereo, 3 copies each
    MAX_CONCURRENT_JOBS=4 python -m bench.throughput --copies 5

``bench.run`` times one job at a time (latency); a contact center uploads a
day's calls in bulk, so what sizes a box is the rate at which a queue drains.
A real server (``main.py``, settings from the environment) gets every file
``--copies`` times in one burst, and the report is audio seconds processed per
wall-clock second from the first upload to the last completed job, with the
job latencies seen under that load.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path

import httpx

from diarize_service.config import Settings

from .datasets import make_calls, simulated_calls
from .run import ROOT, api_server


def submit(client: httpx.Client, audio: Path) -> str:
    with open(audio, "rb") as f:
        response = client.post("/diarize", files={"audio_file": (audio.name, f)})
    response.raise_for_status()
    return response.json()["job_id"]


def drain(client: httpx.Client, jobs: dict[str, float], poll: float = 0.2) -> dict[str, dict]:
    """Poll until every job has ended; returns each job's final status with its latency."""
    done: dict[str, dict] = {}
    while len(done) < len(jobs):
        for job_id, submitted in jobs.items():
            if job_id in done:
                continue
            status = client.get(f"/status/{job_id}").json()
            if status["status"] in ("completed", "failed"):
                status["latency"] = time.perf_counter() - submitted
                done[job_id] = status
        time.sleep(poll)
    return done


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--copies", type=int, default=3, help="times each file is submitted")
    parser.add_argument("--seed", type=int, default=101)
    parser.add_argument("--n-calls", type=int, default=4)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "throughput.json")
    args = parser.parse_args()

    calls = make_calls(ROOT / "bench" / "calls" / f"seed{args.seed}_n{args.n_calls}", args.seed, args.n_calls)
    items = simulated_calls(calls, stereo=False) + simulated_calls(calls, stereo=True)
    launched = time.perf_counter()
    with api_server() as client:
        startup = time.perf_counter() - launched  # until /health says ready: model loading and warm-up
        # one job first, timed apart: what is left of one-time costs (CUDA kernels, ONNX sessions)
        # after the start-up warm-up shows as its latency over the loaded ones
        first = drain(client, {submit(client, items[0].audio): time.perf_counter()})
        start = time.perf_counter()
        jobs = {submit(client, item.audio): time.perf_counter() for _ in range(args.copies) for item in items}
        done = drain(client, jobs)
        wall = time.perf_counter() - start
    first_job = next(iter(first.values()))
    completed = [s for s in done.values() if s["status"] == "completed"]
    audio_seconds = sum(s["result"]["audio_duration"] for s in completed)
    latencies = sorted(s["latency"] for s in completed)
    settings = Settings()
    report = {
        "device": settings.device,
        "api_workers": settings.api_workers,
        "max_concurrent_jobs": settings.max_concurrent_jobs,
        "cores": len(os.sched_getaffinity(0)),
        "startup_seconds": round(startup, 1),
        "first_job_seconds": round(first_job["latency"], 1),
        "first_job_audio_seconds": round(first_job["result"]["audio_duration"], 1),
        "jobs": len(jobs),
        "failed": len(jobs) - len(completed),
        "audio_seconds": round(audio_seconds, 1),
        "wall_seconds": round(wall, 1),
        "audio_per_wall": round(audio_seconds / wall, 1),
        "audio_hours_per_day": round(audio_seconds / wall * 24, 1),
        "latency_median_seconds": round(statistics.median(latencies), 1) if latencies else None,
        "latency_max_seconds": round(latencies[-1], 1) if latencies else None,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1))
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
