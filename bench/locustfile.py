"""Burst of submissions against the cluster's API replicas (``python -m bench.burst`` drives it).

Each simulated client uploads one short call to one of the replicas given in
``DIARIZE_REPLICAS`` (comma-separated URLs) and stops: 200 users spawned at
once make a burst of 200 submissions.  A 503 with ``Retry-After`` (queue
full) is a clean refusal, not an error; anything else over 499 fails.
"""

from __future__ import annotations

import itertools
import os
from pathlib import Path

from locust import HttpUser, task

REPLICAS = itertools.cycle(os.environ.get("DIARIZE_REPLICAS", "http://127.0.0.1:8000").split(","))
AUDIO = Path(os.environ.get("DIARIZE_AUDIO", "")).read_bytes() if os.environ.get("DIARIZE_AUDIO") else b""


class Submitter(HttpUser):
    host = "http://127.0.0.1:8000"

    def on_start(self) -> None:
        self.client.base_url = next(REPLICAS)

    @task
    def submit(self) -> None:
        with self.client.post(
            "/diarize", files={"audio_file": ("call.wav", AUDIO)}, catch_response=True, name="POST /diarize"
        ) as response:
            if response.status_code == 202:
                with open(os.environ["DIARIZE_JOB_LOG"], "a") as log:
                    log.write(response.json()["job_id"] + "\n")
                response.success()
            elif response.status_code == 503 and response.headers.get("Retry-After"):
                response.success()  # queue full: refused cleanly
            else:
                response.failure(f"{response.status_code}: {response.text[:200]}")
        self.stop()
