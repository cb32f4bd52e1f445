"""A running job stops when it is no longer its runner's: deleted elsewhere, or its lease taken over.

In a cluster (or with several API workers) DELETE reaches the replica that
answers it, not the one running the job; the runner learns of it at its next
lease renewal.  Here the job's row is deleted behind the runner's back, as
another replica would, and the processor must be cancelled.
"""

from __future__ import annotations

import time

from fastapi.testclient import TestClient

from diarize_service.app import create_app
from tests.api.conftest import wait_until


def _submit(client, sample_wav) -> str:
    with sample_wav.open("rb") as fh:
        response = client.post("/diarize", files={"audio_file": ("s.wav", fh)})
    assert response.status_code == 202, response.text
    return response.json()["job_id"]


def test_a_job_deleted_by_another_replica_is_cancelled_at_the_next_heartbeat(settings, processor, sample_wav):
    settings.heartbeat_seconds = 0.2
    processor.gate.clear()
    with TestClient(create_app(settings, processor=processor)) as client:
        try:
            job_id = _submit(client, sample_wav)
            wait_until(lambda: processor.running == 1, timeout=10, what="the job to start")
            store = client.app.state.services.store
            assert store.delete(job_id)  # another replica's DELETE: only the row goes
            wait_until(lambda: client.get("/health").json()["jobs_running"] == 0, timeout=5, what="the stop")
            assert processor.cancelled == [job_id]
        finally:
            processor.gate.set()


def test_a_job_whose_lease_was_taken_over_writes_no_result(settings, processor, sample_wav):
    settings.heartbeat_seconds = 0.2
    processor.gate.clear()
    with TestClient(create_app(settings, processor=processor)) as client:
        try:
            job_id = _submit(client, sample_wav)
            wait_until(lambda: processor.running == 1, timeout=10, what="the job to start")
            store = client.app.state.services.store
            with store.engine.begin() as conn:  # the sweeper gave it to another worker, which holds it
                conn.exec_driver_sql("UPDATE jobs SET worker = 'elsewhere:1' WHERE id = ?", (job_id,))
            wait_until(lambda: client.get("/health").json()["jobs_running"] == 0, timeout=5, what="the stop")
            time.sleep(0.3)
            job = store.get(job_id)
            assert job.status.value == "processing" and job.worker == "elsewhere:1" and job.result is None
        finally:
            processor.gate.set()
