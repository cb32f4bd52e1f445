"""Retention (POPIA): results, kept audio and the decoded copy are erased when they should be.

A 410 from ``/status`` only proves the job's ``stage`` says "expired"; these
tests look where the data lives -- the SQLite row and the audio directory --
because an erasure that only changes a label still keeps the personal data.
The sweeper runs on the runner's poll (about once a second here), so the
tests wait for it with a deadline.
"""

from __future__ import annotations

import sqlite3

import numpy as np
import pytest
from fastapi.testclient import TestClient

from diarize_service.app import create_app

from .conftest import FakeProcessor, wait_for, wait_until
from .test_jobs_api import assert_problem, submit


def db_row(settings, job_id: str) -> dict:
    """The job's row read straight from the database file, not through the store or the API."""
    with sqlite3.connect(settings.db_path) as conn:
        conn.row_factory = sqlite3.Row
        row = conn.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
    assert row is not None, f"job {job_id} has no row"
    return dict(row)


def expire(client, job_id: str) -> None:
    wait_until(lambda: client.get(f"/status/{job_id}").status_code == 410, f"job {job_id} to expire")


class DecodingProcessor(FakeProcessor):
    """Writes the decoded copy where the real pipeline does, then behaves like the fake."""

    def __init__(self) -> None:
        super().__init__()
        self.decoded_written: list[bool] = []

    async def process(self, audio_path, decoded_path, options, report):
        np.save(decoded_path, np.zeros(16_000, dtype=np.float32))
        self.decoded_written.append(decoded_path.exists())
        return await super().process(audio_path, decoded_path, options, report)


@pytest.fixture
def processor() -> DecodingProcessor:
    return DecodingProcessor()


def test_expired_result_is_erased_from_the_database(settings, processor, sample_wav):
    """After RESULT_TTL_SECONDS the transcript is gone from the row itself; the record stays for the 410."""
    settings.result_ttl_seconds = 1.0
    with TestClient(create_app(settings, processor=processor)) as client:
        job_id = submit(client, sample_wav).json()["job_id"]
        assert wait_for(client, job_id)["status"] == "completed"
        assert db_row(settings, job_id)["result"] is not None  # stored until the TTL runs out
        expire(client, job_id)
        assert_problem(client.get(f"/jobs/{job_id}/result"), 410, "erased")
    row = db_row(settings, job_id)
    assert row["result"] is None, "the transcript is still in the database after expiry"
    assert (row["status"], row["stage"]) == ("completed", "expired")


def test_expired_kept_audio_is_deleted_by_the_sweeper(settings, processor, sample_wav):
    """KEEP_AUDIO keeps the upload after the job, but not past RESULT_TTL_SECONDS."""
    settings.keep_audio = True
    settings.result_ttl_seconds = 1.0
    with TestClient(create_app(settings, processor=processor)) as client:
        job_id = submit(client, sample_wav).json()["job_id"]
        wait_for(client, job_id)
        upload = settings.audio_dir / job_id / "upload"
        assert upload.exists()  # kept while the result lives
        expire(client, job_id)
        wait_until(lambda: not (settings.audio_dir / job_id).exists(), "the kept audio to be deleted", 5)


def test_failed_jobs_expire_too(settings, processor, sample_wav):
    """A failed job's record (error, file name) and kept audio are personal data with the same TTL."""
    settings.keep_audio = True
    settings.result_ttl_seconds = 1.0
    processor.fail = RuntimeError("model exploded")
    with TestClient(create_app(settings, processor=processor)) as client:
        job_id = submit(client, sample_wav).json()["job_id"]
        assert wait_for(client, job_id)["status"] == "failed"
        expire(client, job_id)
        wait_until(lambda: not (settings.audio_dir / job_id).exists(), "the failed job's audio to go", 5)
    row = db_row(settings, job_id)
    assert (row["status"], row["stage"]) == ("failed", "expired")


@pytest.mark.parametrize("fail", [False, True], ids=["completed", "failed"])
def test_decoded_copy_is_deleted_when_the_job_finishes(settings, processor, sample_wav, fail):
    """The 16 kHz decode (audio16k.npy) is a full copy of the call: it goes as soon as the job ends.

    KEEP_AUDIO keeps the upload only, so the directory survives and the check is
    about the decoded file itself, whatever the outcome of the job.
    """
    settings.keep_audio = True
    processor.fail = RuntimeError("model exploded") if fail else None
    with TestClient(create_app(settings, processor=processor)) as client:
        job_id = submit(client, sample_wav).json()["job_id"]
        assert wait_for(client, job_id)["status"] == ("failed" if fail else "completed")
        services = client.app.state.services
        assert processor.decoded_written == [True]
        assert (settings.audio_dir / job_id / "upload").exists()
        decoded = services.audio.decoded_path(job_id)
        assert not decoded.exists(), f"{decoded.name} left behind after the job finished"
