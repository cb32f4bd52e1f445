"""Load test: a burst of 200 submissions (locust) against two API replicas of a local cluster.

    python -m bench.burst                       # 200 users, MAX_QUEUE_SIZE=150, 2 workers
    python -m bench.burst --users 200 --queue 1000

Reports the submit latency (p50/p95, from locust), every status seen (202,
503 queue full, anything else), the 5xx count other than clean 503 refusals,
and then waits until every accepted job has completed: nothing accepted may
be lost or left queued.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from tools.cluster import Postgres, Redis, api, cluster_env, free_port, wait_for_port, worker

from .run import ROOT

SAMPLE = ROOT.parent / "shared" / "data" / "diarization" / "pyannote_sample" / "sample.wav"


def short_call(target: Path, seconds: float = 3.0) -> Path:
    import soundfile as sf

    audio, rate = sf.read(SAMPLE, dtype="float32")
    sf.write(target, audio[: int(seconds * rate)], rate)
    return target


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--queue", type=int, default=150, help="MAX_QUEUE_SIZE: smaller than the burst")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "burst.json")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        postgres, redis = Postgres(root / "pg").start(), Redis(root / "redis").start()
        env = cluster_env(
            postgres.url,
            redis.url,
            root / "data",
            WHISPER_MODEL="tiny.en",
            LOG_LEVEL="WARNING",
            MAX_QUEUE_SIZE=str(args.queue),
            MAX_CONCURRENT_JOBS="1",
        )
        ports = [free_port(), free_port()]
        processes = [api(f"api-{i}", port, env, root).start() for i, port in enumerate(ports, 1)]
        processes += [worker(f"worker-{i}", free_port(), env, root).start() for i in range(args.workers)]
        try:
            for port in ports:
                wait_for_port(port, 180)
            urls = [f"http://127.0.0.1:{port}" for port in ports]
            job_log = root / "jobs.txt"
            job_log.touch()
            started = time.time()
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "locust",
                    "-f",
                    str(ROOT / "bench" / "locustfile.py"),
                    "--headless",
                    "-u",
                    str(args.users),
                    "-r",
                    str(args.users),
                    "--run-time",
                    "60s",
                    "--stop-timeout",
                    "30",
                    "--csv",
                    str(root / "locust"),
                    "--only-summary",
                    "--exit-code-on-error",
                    "0",
                ],
                env={
                    **os.environ,
                    "DIARIZE_REPLICAS": ",".join(urls),
                    "DIARIZE_AUDIO": str(short_call(root / "c.wav")),
                    "DIARIZE_JOB_LOG": str(job_log),
                },
                check=True,
                timeout=300,
            )
            with open(root / "locust_stats.csv") as f:
                row = next(r for r in csv.DictReader(f) if r["Name"] == "POST /diarize")
            with open(root / "locust_failures.csv") as f:
                failures = list(csv.DictReader(f))
            accepted = job_log.read_text().split()
            deadline = time.time() + 3600
            states: dict[str, str] = {}
            with httpx.Client(timeout=30) as client:
                while time.time() < deadline:
                    for job_id in accepted:
                        if states.get(job_id) not in ("completed", "failed"):
                            states[job_id] = client.get(f"{urls[0]}/status/{job_id}").json()["status"]
                    if all(s in ("completed", "failed") for s in states.values()):
                        break
                    time.sleep(2)
            report = {
                "users": args.users,
                "max_queue_size": args.queue,
                "workers": args.workers,
                "requests": int(row["Request Count"]),
                "accepted_202": len(accepted),
                "refused_503_queue_full": int(row["Request Count"])
                - len(accepted)
                - int(row["Failure Count"]),
                "failures_other": int(row["Failure Count"]),
                "failure_examples": failures[:3],
                "submit_p50_ms": float(row["50%"]),
                "submit_p95_ms": float(row["95%"]),
                "completed": sum(s == "completed" for s in states.values()),
                "failed": sum(s == "failed" for s in states.values()),
                "not_finished": sum(s not in ("completed", "failed") for s in states.values()),
                "drain_seconds": round(time.time() - started, 1),
            }
        finally:
            for process in reversed(processes):
                process.stop()
            redis.stop()
            postgres.stop()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1))
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
