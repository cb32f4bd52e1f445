"""The web console's HTTP side (issue #21): its pages and their headers, the open /ui paths, and the
playback copy behind ``GET /jobs/{job_id}/audio`` -- kept only when asked, owner-checked, and
erased with the result.  The pages themselves are exercised in a browser in ``tests/browser``.
"""

from __future__ import annotations

import re
import stat

import numpy as np
import pytest
from fastapi.testclient import TestClient

from diarize_service.api.auth import hash_key, is_open
from diarize_service.api.routes.ui import WEB_DIR
from diarize_service.app import create_app
from diarize_service.pipeline.audio import decode_channels

from .conftest import FakeProcessor, wait_for, wait_until
from .test_jobs_api import assert_problem, submit


class DecodedCopyProcessor(FakeProcessor):
    """Writes the decoded call where the real decoder does, so the runner can encode a copy of it."""

    async def process(self, audio_path, decoded_path, options, report):
        np.save(decoded_path, decode_channels(audio_path))
        return await super().process(audio_path, decoded_path, options, report)


@pytest.fixture
def processor() -> DecodedCopyProcessor:
    return DecodedCopyProcessor()


@pytest.mark.parametrize("path", ["/ui", "/ui/", "/ui/jobs/0123abcd"])
def test_console_pages_are_html_under_a_strict_policy(client, path):
    response = client.get(path)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
    policy = response.headers["content-security-policy"]
    assert "default-src 'self'" in policy and "script-src 'self'" in policy
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert response.headers["x-content-type-options"] == "nosniff"
    assert '<script type="module" src="/ui/static/' in response.text


@pytest.mark.parametrize(
    ("name", "media_type"),
    [
        ("app.css", "text/css"),
        ("job.js", "text/javascript"),
        ("api.js", "text/javascript"),
        ("icon.svg", "image/svg+xml"),
    ],
)
def test_console_assets_have_their_types(client, name, media_type):
    response = client.get(f"/ui/static/{name}")
    assert response.status_code == 200 and response.headers["content-type"].startswith(media_type)
    assert response.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize(
    "name", ["index.html", "nope.js", "..%2Fconfig.py", "%2e%2e", "APP.CSS", ".hidden.js"]
)
def test_only_the_console_files_are_served(client, name):
    assert_problem(client.get(f"/ui/static/{name}"), 404, "")


def test_the_console_holds_no_inline_script_style_or_outside_address():
    """What the CSP would block must not be needed; nothing is fetched from elsewhere (offline)."""
    files = sorted(WEB_DIR.iterdir())
    assert {f.suffix for f in files} == {".html", ".css", ".js", ".svg"}
    for path in files:
        text = path.read_text()
        outside = set(re.findall(r"https?://[^\s\"')]+", text)) - {"http://www.w3.org/2000/svg"}
        assert not outside, (path.name, outside)
        assert len(text.splitlines()) < 400, path.name
        if path.suffix == ".html":
            assert not re.search(r"<script(?![^>]*\bsrc=)", text), path.name
            assert not re.search(r"\son[a-z]+=|\sstyle=", text), path.name
        if path.suffix == ".js":
            assert not re.search(r"innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\(", text), (
                path.name
            )


def test_the_console_is_open_but_the_data_is_not_when_keys_are_on(settings, processor):
    settings.api_keys = hash_key("alice-key-0123456789")
    with TestClient(create_app(settings, processor=processor)) as client:
        for path in ("/ui", "/ui/jobs/x", "/ui/static/job.js"):
            assert client.get(path).status_code == 200, path
        for path in ("/jobs", "/jobs/x/audio", "/docs"):
            assert_problem(client.get(path), 401, "api key")
    assert is_open("/ui") and is_open("/ui/static/app.css") and is_open("/health")
    assert not is_open("/uix") and not is_open("/jobs") and not is_open("/") and not is_open("/ui-admin")


def job_files(settings, job_id: str) -> list[str]:
    directory = settings.audio_dir / job_id
    return sorted(p.name for p in directory.iterdir()) if directory.exists() else []


def test_no_audio_is_kept_by_default(client, settings, sample_wav):
    job_id = submit(client, sample_wav).json()["job_id"]
    assert wait_for(client, job_id)["status"] == "completed"
    assert_problem(client.get(f"/jobs/{job_id}/audio"), 404, "KEEP_PLAYBACK_COPY")
    assert job_files(settings, job_id) == []


def test_the_playback_copy_is_kept_alone_and_erased_with_the_job(settings, processor, stereo_wav):
    settings.keep_playback_copy = True
    with TestClient(create_app(settings, processor=processor)) as client:
        job_id = submit(client, stereo_wav).json()["job_id"]
        assert wait_for(client, job_id)["status"] == "completed"
        response = client.get(f"/jobs/{job_id}/audio")
        assert response.status_code == 200 and response.headers["content-type"] == "audio/ogg"
        assert response.content[:4] == b"OggS" and response.headers["cache-control"] == "no-store"
        assert job_files(settings, job_id) == ["playback.ogg"]  # the upload and the decoded copy are gone
        assert stat.S_IMODE((settings.audio_dir / job_id / "playback.ogg").stat().st_mode) == 0o600
        assert client.get(f"/jobs/{job_id}").json()["status"] == "completed"
        assert client.delete(f"/jobs/{job_id}").status_code == 204
        assert not (settings.audio_dir / job_id).exists()
        assert_problem(client.get(f"/jobs/{job_id}/audio"), 404, job_id)


def test_the_playback_copy_expires_with_the_result(settings, processor, sample_wav):
    settings.keep_playback_copy = True
    settings.result_ttl_seconds = 1.0
    with TestClient(create_app(settings, processor=processor)) as client:
        job_id = submit(client, sample_wav).json()["job_id"]
        assert wait_for(client, job_id)["status"] == "completed"
        wait_until(lambda: not (settings.audio_dir / job_id).exists(), "the copy to expire", timeout=15)
        assert_problem(client.get(f"/jobs/{job_id}/audio"), 410, "erased")


def test_a_failed_job_keeps_no_copy(settings, processor, sample_wav):
    settings.keep_playback_copy = True
    processor.fail = RuntimeError("model crashed")
    with TestClient(create_app(settings, processor=processor)) as client:
        job_id = submit(client, sample_wav).json()["job_id"]
        assert wait_for(client, job_id)["status"] == "failed"
        assert not (settings.audio_dir / job_id).exists()
        assert_problem(client.get(f"/jobs/{job_id}/audio"), 404, "KEEP_PLAYBACK_COPY")


def test_the_copy_is_the_owners_only(settings, processor, sample_wav):
    alice, bob = {"X-API-Key": "alice-key-0123456789"}, {"X-API-Key": "bob-key-9876543210"}
    settings.api_keys = f"{hash_key(alice['X-API-Key'])},{hash_key(bob['X-API-Key'])}"
    settings.keep_playback_copy = True
    with TestClient(create_app(settings, processor=processor)) as client:
        client.headers.update(alice)
        job_id = submit(client, sample_wav).json()["job_id"]
        assert wait_for(client, job_id)["status"] == "completed"
        assert client.get(f"/jobs/{job_id}/audio").status_code == 200
        assert_problem(client.get(f"/jobs/{job_id}/audio", headers=bob), 404, job_id)
