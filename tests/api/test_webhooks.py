"""Webhooks to a local receiver: signature, retries, refusal of internal targets."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from fastapi.testclient import TestClient

from diarize_service.app import create_app

from .conftest import wait_for
from .test_jobs_api import assert_problem

SECRET = "whsec_" + base64.b64encode(b"test-secret-32-bytes-long-000000").decode()


class Receiver:
    """A tiny HTTP server on loopback that fails the first *failures* requests."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.requests: list[tuple[dict[str, str], bytes]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["content-length"]))
                outer.requests.append(({k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(500 if len(outer.requests) <= outer.failures else 204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait(self, count: int, timeout: float = 10) -> None:
        deadline = time.monotonic() + timeout
        while len(self.requests) < count:
            assert time.monotonic() < deadline, f"got {len(self.requests)} deliveries"
            time.sleep(0.02)


@pytest.fixture
def hooked(settings, processor):
    settings.allow_private_callbacks = True
    settings.webhook_secret = SECRET
    settings.webhook_initial_delay_seconds = 0.05
    settings.webhook_max_attempts = 3
    with TestClient(create_app(settings, processor=processor)) as client:
        yield client


def post(client, path, **fields):
    with open(path, "rb") as fh:
        return client.post("/diarize", files={"audio_file": ("a.wav", fh)}, data=fields)


def test_signed_delivery_is_retried_until_accepted(hooked, sample_wav):
    receiver = Receiver(failures=2)
    job_id = post(hooked, sample_wav, callback_url=receiver.url).json()["job_id"]
    assert wait_for(hooked, job_id)["status"] == "completed"
    receiver.wait(3)
    headers, body = receiver.requests[-1]
    payload = json.loads(body)
    assert payload["type"] == "job.completed" and payload["data"]["job_id"] == job_id
    secret = base64.b64decode(SECRET.removeprefix("whsec_"))
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + body
    expected = base64.b64encode(hmac.new(secret, signed, hashlib.sha256).digest()).decode()
    assert headers["webhook-signature"] == f"v1,{expected}"
    assert abs(int(headers["webhook-timestamp"]) - time.time()) < 30
    assert len({h["webhook-id"] for h, _ in receiver.requests}) == 1  # same id on every retry


def test_failing_receiver_never_fails_the_job(hooked, processor, sample_wav):
    receiver = Receiver(failures=100)
    processor.fail = RuntimeError("boom")
    job_id = post(hooked, sample_wav, callback_url=receiver.url).json()["job_id"]
    assert wait_for(hooked, job_id)["status"] == "failed"
    receiver.wait(3)
    time.sleep(0.3)
    assert len(receiver.requests) == 3  # max attempts, then given up
    assert json.loads(receiver.requests[0][1])["data"]["error"] == "RuntimeError: boom"
    assert hooked.get(f"/status/{job_id}").json()["status"] == "failed"


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1:9/hook", "http://localhost/x", "http://10.1.2.3/x", "ftp://example.com/x", "nope"],
)
def test_internal_or_malformed_callbacks_are_refused_by_default(client, sample_wav, url):
    assert_problem(post(client, sample_wav, callback_url=url), 422, "callback_url")
