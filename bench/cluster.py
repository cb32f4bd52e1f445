"""Cluster benchmark: throughput with 1 and 2 workers against the embedded service, queue overhead.

    python -m bench.cluster                    # seed-101 calls (mono), 2 copies each, tiny.en
    python -m bench.cluster --whisper-model base --copies 3

Every mode gets the same burst of calls on the same machine:

* ``embedded``: one ``main.py`` (SQLite, in-process runner, its own model processes);
* ``cluster-1`` / ``cluster-2``: PostgreSQL + Redis + one API replica + 1 or 2
  workers (``tools/cluster.py``), each worker with its own model processes.

Reported per mode: seconds of audio per wall-clock second from the first
upload to the last result, and the queue's own overhead per job -- from the
upload until a worker claimed it (``started_at - submitted``, taken from the
jobs that found an idle worker: the first of each burst) and from the
worker's result until the client saw it (polling every 50 ms).  On a 2-core
machine two workers share the same two cores, so this measures the
cluster's overhead and correctness under load, not a speed-up; the GPU
section of bench/README.md says how workers scale where each has its own GPU.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

from tools.cluster import Postgres, Redis, ServiceProcess, api, cluster_env, free_port, wait_for_port, worker

from .datasets import make_calls, simulated_calls
from .run import ROOT


@contextlib.contextmanager
def embedded(env: dict[str, str]) -> Iterator[str]:
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        command = [sys.executable, "main.py"]
        server = ServiceProcess("embedded", command, {**env, "PORT": str(port), "DATA_DIR": tmp}, Path(tmp))
        server.start()
        try:
            yield _ready(f"http://127.0.0.1:{port}", [server])
        finally:
            server.stop()


@contextlib.contextmanager
def cluster(env: dict[str, str], workers: int) -> Iterator[str]:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        postgres, redis = Postgres(root / "pg").start(), Redis(root / "redis").start()
        cenv = cluster_env(postgres.url, redis.url, root / "data", **env)
        port = free_port()
        processes = [api("api-1", port, cenv, root).start()]
        processes += [worker(f"worker-{i}", free_port(), cenv, root).start() for i in range(workers)]
        try:
            wait_for_port(port, 180)
            url = _ready(f"http://127.0.0.1:{port}", processes)
            deadline = time.monotonic() + 300
            while sum(b" ready." in p.log.read_bytes() for p in processes[1:]) < workers:
                assert time.monotonic() < deadline, "workers did not start"
                time.sleep(0.5)
            yield url
        finally:
            for process in reversed(processes):
                process.stop()
            redis.stop()
            postgres.stop()


def _ready(url: str, processes) -> str:
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(f"{url}/health", timeout=5).status_code == 200:
                return url
        time.sleep(0.5)
    raise TimeoutError(f"{url} not healthy: {[p.log.read_text()[-500:] for p in processes]}")


def burst(url: str, files: list[Path]) -> dict:
    """Submit every file at once, then poll until all have ended."""
    with httpx.Client(base_url=url, timeout=120) as client:
        submitted: dict[str, float] = {}
        started = time.time()
        for path in files:
            response = client.post("/diarize", files={"audio_file": (path.name, path.read_bytes())})
            response.raise_for_status()
            submitted[response.json()["job_id"]] = time.time()
        seen: dict[str, dict] = {}
        while len(seen) < len(submitted):
            for job_id in submitted:
                if job_id not in seen:
                    status = client.get(f"/status/{job_id}").json()
                    if status["status"] in ("completed", "failed"):
                        status["seen_at"] = time.time()
                        seen[job_id] = status
            time.sleep(0.05)
        wall = max(s["seen_at"] for s in seen.values()) - started
    completed = [s for s in seen.values() if s["status"] == "completed"]
    audio = sum(s["result"]["audio_duration"] for s in completed)
    first = sorted(seen.items(), key=lambda kv: submitted[kv[0]])[:2]
    return {
        "jobs": len(submitted),
        "failed": len(submitted) - len(completed),
        "attempts_over_1": sum(s["attempts"] > 1 for s in seen.values()),
        "audio_seconds": round(audio, 1),
        "wall_seconds": round(wall, 1),
        "audio_per_wall": round(audio / wall, 2),
        "claim_overhead_ms": [round((s["started_at"] - submitted[j]) * 1000) for j, s in first],
        "result_visible_ms_median": round(
            statistics.median((s["seen_at"] - s["finished_at"]) * 1000 for s in seen.values())
        ),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--copies", type=int, default=2)
    parser.add_argument("--seed", type=int, default=101)
    parser.add_argument("--n-calls", type=int, default=4)
    parser.add_argument("--whisper-model", default="tiny.en")
    parser.add_argument("--modes", default="embedded,cluster-1,cluster-2")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "cluster.json")
    args = parser.parse_args()
    calls = make_calls(ROOT / "bench" / "calls" / f"seed{args.seed}_n{args.n_calls}", args.seed, args.n_calls)
    files = [item.audio for item in simulated_calls(calls, stereo=False)] * args.copies
    env = {
        "WHISPER_MODEL": args.whisper_model,
        "HOST": "127.0.0.1",
        "MODEL_CACHE_DIR": str(ROOT / "var" / "models"),
    }
    env = {**os.environ, **env}
    report = {"whisper_model": args.whisper_model, "cores": len(os.sched_getaffinity(0)), "modes": {}}
    for mode in args.modes.split(","):
        context = embedded(env) if mode == "embedded" else cluster(env, int(mode.split("-")[1]))
        with context as url:
            report["modes"][mode] = burst(url, files)
        print(mode, json.dumps(report["modes"][mode]), flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
