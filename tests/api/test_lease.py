"""A running job stops when it is no longer its runner's: deleted elsewhere, or its lease taken over.

In a cluster (or with several API workers) DELETE reaches the replica that
answers it, not the one running the job; the runner learns of it at its next
lease renewal.  Here the job's row is deleted behind the runner's back, as
another replica would, and the processor must be cancelled.
"""

from __future__ import annotations

import time

import pytest
from fastapi.testclient import TestClient

from diarize_service.app import create_app
from tests.api.conftest import wait_until


def _submit(client, sample_wav) -> str:
    with sample_wav.open("rb") as fh:
        response = client.post("/diarize", files={"audio_file": ("s.wav", fh)})
    assert response.status_code == 202, response.text
    return response.json()["job_id"]


@pytest.fixture
def running_job(settings, processor, sample_wav):
    """A job held by the runner (its processor blocked), with the app's client and store."""
    settings.heartbeat_seconds = 0.2
    processor.gate.clear()
    with TestClient(create_app(settings, processor=processor)) as client:
        try:
            job_id = _submit(client, sample_wav)
            wait_until(lambda: processor.running == 1, timeout=10, what="the job to start")
            yield client, client.app.state.services.store, job_id
        finally:
            processor.gate.set()


def _stopped(client) -> None:
    wait_until(lambda: client.get("/health").json()["jobs_running"] == 0, timeout=5, what="the stop")


def test_a_job_deleted_by_another_replica_is_cancelled_at_the_next_heartbeat(running_job, processor):
    client, store, job_id = running_job
    assert store.delete(job_id)  # another replica's DELETE: only the row goes
    _stopped(client)
    assert processor.cancelled == [job_id]


def test_a_job_whose_lease_was_taken_over_writes_no_result(running_job):
    client, store, job_id = running_job
    with store.engine.begin() as conn:  # the sweeper gave it to another worker, which holds it
        conn.exec_driver_sql("UPDATE jobs SET worker = 'elsewhere:1' WHERE id = ?", (job_id,))
    _stopped(client)
    time.sleep(0.3)
    job = store.get(job_id)
    assert job.status.value == "processing" and job.worker == "elsewhere:1" and job.result is None
