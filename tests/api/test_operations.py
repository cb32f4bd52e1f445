"""What operators rely on: Prometheus counters, the readiness answer, JOB_TIMEOUT_SECONDS.

The only metrics test used to check that a counter's *name* appears in
``/metrics``, which it does from start-up with the value 0.0; here the values
must move by exactly what one job adds.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from diarize_service.app import create_app

from .conftest import wait_for
from .test_jobs_api import submit

SUBMITTED = ("diarize_jobs_submitted_total", {})
COMPLETED = ("diarize_jobs_finished_total", {"status": "completed"})
FAILED = ("diarize_jobs_finished_total", {"status": "failed"})
AUDIO = ("diarize_audio_seconds_total", {})


def scrape(client) -> dict[tuple[str, tuple], float]:
    """Every sample of ``GET /metrics`` as ``{(name, labels): value}`` (the process-wide registry)."""
    response = client.get("/metrics")
    assert response.status_code == 200
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(samples, metric: tuple[str, dict]) -> float:
    name, labels = metric
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def deltas(before, after) -> dict[str, float]:
    named = {"submitted": SUBMITTED, "completed": COMPLETED, "failed": FAILED, "audio": AUDIO}
    return {key: value(after, metric) - value(before, metric) for key, metric in named.items()}


def test_metrics_count_a_completed_and_a_failed_job(client, processor, sample_wav, tmp_path):
    """Counters are process-wide, so the test compares before/after deltas of one job at a time."""
    before = scrape(client)
    assert wait_for(client, submit(client, sample_wav).json()["job_id"])["status"] == "completed"
    after_ok = scrape(client)
    assert deltas(before, after_ok) == pytest.approx(
        {"submitted": 1, "completed": 1, "failed": 0, "audio": 30.0}, abs=0.05
    )

    processor.fail = RuntimeError("model exploded")
    assert wait_for(client, submit(client, sample_wav).json()["job_id"])["status"] == "failed"
    after_failed = scrape(client)
    # a failed job adds no processed audio
    assert deltas(after_ok, after_failed) == {"submitted": 1, "completed": 0, "failed": 1, "audio": 0}

    text = tmp_path / "notes.mp3"
    text.write_text("not audio\n" * 100)
    assert submit(client, text).status_code == 415
    assert deltas(after_failed, scrape(client))["submitted"] == 0  # a refused upload is not a submission


class LoadingWorkers:
    """Stands in for StageWorkers while the model processes are (not yet) loaded."""

    def __init__(self) -> None:
        self.ready = False
        self.asr = SimpleNamespace(info={"model": "tiny.en"})
        self.diarization = SimpleNamespace(info={"model": "pyannote-segmentation-3.0+campplus"})


def test_health_is_503_until_the_models_are_loaded(client):
    """Readiness comes from ``workers.ready``: a pod whose models are not loaded must answer 503.

    The fake-processor app has no workers (always ready), so loading ones are
    put in their place; the real ones flip ``ready`` when both model processes
    have started and back on shutdown.
    """
    services = client.app.state.services
    services.workers = LoadingWorkers()
    try:
        starting = client.get("/health")
        assert starting.status_code == 503
        body = starting.json()
        assert body["status"] == "starting" and body["models_loaded"] is False
        services.workers.ready = True
        ready = client.get("/health")
        assert ready.status_code == 200
        assert ready.json()["status"] == "ok" and ready.json()["models"] == {
            "asr": "tiny.en",
            "diarization": "pyannote-segmentation-3.0+campplus",
        }
    finally:
        services.workers = None


def test_job_running_past_the_timeout_fails_with_the_timeout_message(settings, processor, sample_wav):
    """JOB_TIMEOUT_SECONDS stops a job that hangs (here: a processor that never returns), frees its slot."""
    settings.job_timeout_seconds = 0.5
    processor.gate.clear()  # the fake blocks until the gate opens: past the timeout
    with TestClient(create_app(settings, processor=processor)) as client:
        try:
            job_id = submit(client, sample_wav).json()["job_id"]
            done = wait_for(client, job_id, timeout=10)
            assert done["status"] == "failed" and done["result"] is None
            assert done["error"] == "Processing took longer than JOB_TIMEOUT_SECONDS and was stopped."
            assert client.get("/health").json()["jobs_running"] == 0  # the slot is free again
        finally:
            # inside the app's lifetime: its shutdown waits for the fake's blocked thread
            processor.gate.set()
