"""API keys, isolation between keys, rate limits, idempotent submission."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from diarize_service.api.auth import hash_key
from diarize_service.app import create_app

from .conftest import wait_for
from .test_jobs_api import assert_problem, submit

ALICE, BOB = "alice-key-0123456789", "bob-key-9876543210"


@pytest.fixture
def secured(settings, processor):
    settings.api_keys = f"{hash_key(ALICE)}, {hash_key(BOB)}"
    with TestClient(create_app(settings, processor=processor)) as client:
        yield client


def as_(key: str, header: str = "bearer") -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"} if header == "bearer" else {"X-API-Key": key}


def test_requests_without_a_valid_key_are_401_but_health_is_open(secured, sample_wav):
    response = submit(secured, sample_wav)
    assert_problem(response, 401, "api key")
    assert response.headers["www-authenticate"] == "Bearer"
    assert_problem(secured.get("/jobs", headers=as_("wrong")), 401, "api key")
    assert_problem(secured.get("/jobs", headers={"Authorization": "Basic abc"}), 401, "api key")
    assert secured.get("/health").status_code == 200


def test_each_key_sees_only_its_own_jobs(secured, sample_wav):
    with open(sample_wav, "rb") as fh:
        response = secured.post("/diarize", files={"audio_file": ("a.wav", fh)}, headers=as_(ALICE))
    job_id = response.json()["job_id"]
    secured.headers.update(as_(ALICE))
    assert wait_for(secured, job_id)["status"] == "completed"
    secured.headers.clear()
    for path in (f"/status/{job_id}", f"/jobs/{job_id}", f"/jobs/{job_id}/result"):
        assert secured.get(path, headers=as_(ALICE, "x-api-key")).status_code == 200
        assert_problem(secured.get(path, headers=as_(BOB)), 404, job_id)
    assert secured.get("/jobs", headers=as_(BOB)).json()["total"] == 0
    assert secured.get("/jobs", headers=as_(ALICE)).json()["total"] == 1
    assert_problem(secured.delete(f"/jobs/{job_id}", headers=as_(BOB)), 404, job_id)
    assert secured.delete(f"/jobs/{job_id}", headers=as_(ALICE)).status_code == 204


def test_submissions_are_rate_limited_per_key(settings, processor, sample_wav):
    settings.api_keys = f"{hash_key(ALICE)},{hash_key(BOB)}"
    settings.rate_limit_per_minute = 2
    with TestClient(create_app(settings, processor=processor)) as client:
        client.headers.update(as_(ALICE))
        assert submit(client, sample_wav).status_code == 202
        assert submit(client, sample_wav).status_code == 202
        response = submit(client, sample_wav)
        assert_problem(response, 429, "per minute")
        assert int(response.headers["retry-after"]) >= 1
        client.headers.update(as_(BOB))
        assert submit(client, sample_wav).status_code == 202  # another key has its own budget


def test_idempotency_key_returns_the_same_job(client, sample_wav, stereo_wav, settings):
    key = {"Idempotency-Key": "upload-42"}
    with open(sample_wav, "rb") as fh:
        first = client.post("/diarize", files={"audio_file": ("a.wav", fh)}, headers=key).json()
    with open(sample_wav, "rb") as fh:
        again = client.post("/diarize", files={"audio_file": ("a.wav", fh)}, headers=key)
    assert again.status_code == 202 and again.json()["job_id"] == first["job_id"]
    assert client.get("/jobs").json()["total"] == 1
    with open(stereo_wav, "rb") as fh:
        other = client.post("/diarize", files={"audio_file": ("b.wav", fh)}, headers=key)
    assert_problem(other, 422, "different file")
    assert sorted(p.name for p in settings.audio_dir.iterdir()) in ([], [first["job_id"]])
