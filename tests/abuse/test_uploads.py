"""Hostile single uploads: refused at the probe with a clear 4xx, or decoded outside the API process."""

from __future__ import annotations

import re

import pytest

from tests.abuse import craft
from tests.abuse.conftest import wait_finished

pytestmark = pytest.mark.models


def _submit(api, data: bytes, name: str = "call.wav", **headers: str):
    return api.post("/diarize", files={"audio_file": (name, data)}, headers=headers)


@pytest.mark.parametrize("rate", [1, 200_000_000])
def test_absurd_sample_rates_are_refused_at_the_probe(api, abuse_server, rate):
    response = _submit(api, craft.wav_declaring(rate))
    assert response.status_code == 415, response.text
    assert "sample rate" in response.json()["detail"]
    assert abuse_server.memory.peak < 600 * 1024**2


def test_self_referencing_playlist_is_not_opened(api, abuse_server):
    """27 uploads of a 33-byte ffconcat file that lists itself: refused, memory flat."""
    for _ in range(27):
        response = _submit(api, craft.self_referencing_ffconcat(), name="upload")
        assert response.status_code == 415, response.text
    assert abuse_server.memory.peak < 600 * 1024**2


def test_flac_whose_header_lies_about_its_length_is_processed(api):
    response = _submit(api, craft.flac_with_lying_streaminfo(seconds=2.0), name="short.flac")
    assert response.status_code == 202, response.text
    status = wait_finished(api, response.json()["job_id"])
    assert status["status"] == "completed", status
    assert status["result"]["audio_duration"] == pytest.approx(2.0, abs=0.05)


def test_idempotent_resend_of_an_oversize_file_is_413(api, sample_wav):
    first = _submit(api, craft.wav_excerpt(sample_wav, 1.0), **{"Idempotency-Key": "oversize-resend"})
    assert first.status_code == 202, first.text
    oversize = b"\0" * (200 * 1024 * 1024 + 1)  # MAX_UPLOAD_MB + 1 byte: inside the multipart slack
    again = _submit(api, oversize, **{"Idempotency-Key": "oversize-resend"})
    assert again.status_code == 413, again.text


def test_control_characters_in_file_names_do_not_reach_the_log(api, abuse_server, sample_wav):
    name = "evil\x1b[31m\r\nFORGED job completed.wav"
    response = _submit(api, craft.wav_excerpt(sample_wav, 1.0), name=name)
    assert response.status_code == 202, response.text
    wait_finished(api, response.json()["job_id"])
    log = abuse_server.log.read_bytes()
    assert b"\x1b[31m" not in log and b"\r\nFORGED" not in log
    listed = api.get(f"/jobs/{response.json()['job_id']}").json()["filename"]
    assert not re.search(r"[\x00-\x1f]", listed)
