"""The cluster as operators run it: any replica serves any job, workers share the queue."""

from __future__ import annotations

import concurrent.futures
import time

import httpx
import pytest

from tests.abuse import craft
from tests.cluster.conftest import submit, wait_status

pytestmark = pytest.mark.models


@pytest.fixture(scope="module")
def sample_bytes(sample_wav) -> bytes:
    return sample_wav.read_bytes()


def test_a_job_submitted_to_one_replica_is_read_listed_and_deleted_through_the_other(cluster, sample_bytes):
    one, two = cluster.urls
    job_id = submit(one, sample_bytes, name="sample.wav")
    status = wait_status(two, job_id)
    assert status["status"] == "completed", status
    assert status["result"]["total_speakers"] == 2
    assert "Speaker_01 [" in status["result"]["transcript"]
    assert job_id in [job["job_id"] for job in httpx.get(f"{two}/jobs").json()["jobs"]]
    srt = httpx.get(f"{one}/jobs/{job_id}/result", params={"format": "srt"})
    assert srt.status_code == 200 and "Speaker_01" in srt.text
    assert httpx.delete(f"{two}/jobs/{job_id}").status_code == 204
    assert httpx.get(f"{one}/status/{job_id}").status_code == 404
    assert cluster.sql("SELECT count(*) FROM jobs WHERE id = %s", job_id) == [(0,)]


def test_both_workers_take_jobs(cluster, sample_wav):
    short = craft.wav_excerpt(sample_wav, 4.0)
    ids = [submit(cluster.urls[i % 2], short) for i in range(4)]
    for job_id in ids:
        assert wait_status(cluster.urls[0], job_id)["status"] == "completed"
    holders = cluster.sql("SELECT DISTINCT worker FROM jobs WHERE id = ANY(%s)", ids)
    assert len(holders) == 2, holders


def test_idempotency_key_holds_across_replicas(cluster, sample_wav):
    audio = craft.wav_excerpt(sample_wav, 2.0)

    def send(url: str) -> str:
        response = httpx.post(
            f"{url}/diarize",
            files={"audio_file": ("c.wav", audio)},
            headers={"Idempotency-Key": "cluster-k1"},
        )
        assert response.status_code == 202, response.text
        return response.json()["job_id"]

    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        ids = set(pool.map(send, [cluster.urls[i % 2] for i in range(8)]))
    assert len(ids) == 1, ids
    assert cluster.sql("SELECT count(*) FROM jobs WHERE idempotency_key = 'cluster-k1'") == [(1,)]


def test_batches_and_webhooks_work_through_the_cluster(cluster, sample_wav):
    import http.server
    import threading

    received: list[dict] = []

    class Receiver(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            import json

            body = self.rfile.read(int(self.headers["content-length"]))
            received.append({"headers": dict(self.headers), "body": json.loads(body)})
            self.send_response(204)
            self.end_headers()

        def log_message(self, *_: object) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        short = craft.wav_excerpt(sample_wav, 3.0)
        response = httpx.post(
            f"{cluster.urls[1]}/batch-diarize",
            files=[("audio_files", ("a.wav", short)), ("audio_files", ("b.wav", short))],
            data={"callback_url": f"http://127.0.0.1:{server.server_port}/hook"},
        )
        assert response.status_code == 202, response.text
        batch_id = response.json()["batch_id"]
        deadline = time.monotonic() + 180
        while (batch := httpx.get(f"{cluster.urls[0]}/batches/{batch_id}").json())["status"] != "completed":
            assert time.monotonic() < deadline, batch
            time.sleep(0.5)
        deadline = time.monotonic() + 30
        while len(received) < 2:
            assert time.monotonic() < deadline, received
            time.sleep(0.2)
        assert {r["body"]["type"] for r in received} == {"job.completed"}
        assert all(r["headers"].get("webhook-signature", "").startswith("v1,") for r in received)
    finally:
        server.shutdown()


def test_metrics_report_the_queue_and_the_workers(cluster):
    api_metrics = httpx.get(f"{cluster.urls[0]}/metrics").text
    assert "diarize_queue_depth" in api_metrics and "diarize_jobs_processing" in api_metrics
    finished = 0.0
    for process in cluster.workers:
        if process.process is None or process.process.poll() is not None:
            continue
        text = httpx.get(f"http://127.0.0.1:{process.env['WORKER_METRICS_PORT']}/metrics").text
        for line in text.splitlines():
            if line.startswith('diarize_jobs_finished_total{status="completed"}'):
                finished += float(line.split()[-1])
        assert "diarize_stage_seconds_bucket" in text
    assert finished >= 1
