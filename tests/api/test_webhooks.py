"""Webhooks to a local receiver: signature, retries and backoff, refusal of internal targets.

The receivers are real HTTP servers on 127.0.0.1, so the deliveries go through
httpx for real.  Every wait has a deadline: a regression fails a test instead
of hanging the run.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import ipaddress
import itertools
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer

import httpx
import pytest
from fastapi.testclient import TestClient

from diarize_service.app import create_app
from diarize_service.jobs.webhooks import WebhookConfig, WebhookSender

from .conftest import wait_for
from .test_jobs_api import assert_problem

SECRET = "whsec_" + base64.b64encode(b"test-secret-32-bytes-long-000000").decode()
PUBLIC_ADDRESS = "93.184.215.14"  # globally routable; never actually contacted (see LoopbackOnlyNetwork)


class Receiver:
    """A tiny HTTP server on loopback that answers 500 to the first *failures* requests, then 204."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.arrivals: list[float] = []  # time.monotonic() of each request
        self.statuses: list[int] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["content-length"]))
                outer.arrivals.append(time.monotonic())
                outer.requests.append(({k.lower(): v for k, v in self.headers.items()}, body))
                status = 500 if len(outer.requests) <= outer.failures else 204
                outer.statuses.append(status)
                self.send_response(status)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_port
        self.url = f"http://127.0.0.1:{self.port}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def wait(self, count: int, timeout: float = 10) -> None:
        deadline = time.monotonic() + timeout
        while len(self.requests) < count:
            assert time.monotonic() < deadline, f"got {len(self.requests)} deliveries"
            time.sleep(0.02)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


@pytest.fixture
def receiver_factory() -> Iterator[type[Receiver]]:
    started: list[Receiver] = []

    class Tracked(Receiver):
        def __init__(self, failures: int) -> None:
            super().__init__(failures)
            started.append(self)

    yield Tracked
    for receiver in started:
        receiver.close()


@contextlib.contextmanager
def hooked_client(settings, processor, delay: float, attempts: int) -> Iterator[TestClient]:
    settings.allow_private_callbacks = True
    settings.webhook_secret = SECRET
    settings.webhook_initial_delay_seconds = delay
    settings.webhook_max_attempts = attempts
    with TestClient(create_app(settings, processor=processor)) as client:
        yield client


@pytest.fixture
def hooked(settings, processor):
    with hooked_client(settings, processor, delay=0.05, attempts=3) as client:
        yield client


def post(client, path, **fields):
    with open(path, "rb") as fh:
        return client.post("/diarize", files={"audio_file": ("a.wav", fh)}, data=fields)


def test_signed_delivery_is_retried_until_accepted(hooked, sample_wav, receiver_factory):
    receiver = receiver_factory(failures=2)
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


def test_failing_receiver_never_fails_the_job(hooked, sample_wav, receiver_factory):
    receiver = receiver_factory(failures=100)  # answers 500 to every delivery
    job_id = post(hooked, sample_wav, callback_url=receiver.url).json()["job_id"]
    assert wait_for(hooked, job_id)["status"] == "completed"
    receiver.wait(3)
    time.sleep(0.5)  # well past the next backoff delay (0.2 s): no fourth attempt
    assert receiver.statuses == [500, 500, 500]  # max attempts, all refused, then given up
    assert json.loads(receiver.requests[0][1])["data"] == {
        "job_id": job_id,
        "status": "completed",
        "error": None,
    }
    body = hooked.get(f"/status/{job_id}").json()
    assert body["status"] == "completed" and not body.get("error")


def test_retries_back_off_exponentially_then_stop(settings, processor, sample_wav, receiver_factory):
    delay, attempts = 0.1, 4
    receiver = receiver_factory(failures=100)
    with hooked_client(settings, processor, delay=delay, attempts=attempts) as client:
        job_id = post(client, sample_wav, callback_url=receiver.url).json()["job_id"]
        assert wait_for(client, job_id)["status"] == "completed"
        receiver.wait(attempts)
        time.sleep(2 * delay * 2 ** (attempts - 1))  # twice the delay a further retry would wait
        assert len(receiver.requests) == attempts  # WEBHOOK_MAX_ATTEMPTS, then no more
    gaps = [later - earlier for earlier, later in itertools.pairwise(receiver.arrivals)]
    # Lower bounds only: each wait must be at least the initial delay doubled per failure.
    # A constant or linear backoff fails these; an upper bound or "each gap longer than the
    # last" would fail on a loaded two-core CI box, where one wait can overrun by 0.5 s.
    for number, gap in enumerate(gaps):
        assert gap >= 0.9 * delay * 2**number, gaps


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9/hook",
        "http://localhost/x",
        "http://10.1.2.3/x",
        "http://[64:ff9b::a00:1]/x",
        "http://[::127.0.0.1]/x",
        "ftp://example.com/x",
        "nope",
    ],
)
def test_internal_or_malformed_callbacks_are_refused_by_default(client, sample_wav, url):
    assert_problem(post(client, sample_wav, callback_url=url), 422, "callback_url")


class RebindingDNS:
    """Answers a public address to the first lookup and 127.0.0.1 to every later one."""

    def __init__(self) -> None:
        self.lookups: list[tuple[str, int]] = []

    def __call__(self, host: str, port: int) -> list[str]:
        self.lookups.append((host, port))
        return [PUBLIC_ADDRESS] if len(self.lookups) == 1 else ["127.0.0.1"]


class LoopbackOnlyNetwork(httpx.AsyncBaseTransport):
    """Real connections to loopback; anything else is unreachable, so the test stays offline."""

    def __init__(self) -> None:
        self.real = httpx.AsyncHTTPTransport()
        self.unreachable: list[tuple[str, str]] = []  # (address, Host header)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        host = request.url.host
        with contextlib.suppress(ValueError):
            if host != "localhost" and not ipaddress.ip_address(host).is_loopback:
                self.unreachable.append((host, request.headers["host"]))
                raise httpx.ConnectError("network unreachable (test network)", request=request)
        return await self.real.handle_async_request(request)

    async def aclose(self) -> None:
        await self.real.aclose()


def test_dns_rebinding_cannot_send_a_delivery_to_loopback(receiver_factory):
    receiver = receiver_factory(failures=0)  # would accept anything that reaches it
    dns, network = RebindingDNS(), LoopbackOnlyNetwork()
    sender = WebhookSender(
        WebhookConfig(secret=b"k", max_attempts=3, initial_delay=0.01, timeout=5),
        resolver=dns,
        transport=network,
    )
    # "localhost" so that anything resolving the name again, other than the checked
    # lookup (httpx itself, say), would reach the receiver on 127.0.0.1.
    url = f"http://localhost:{receiver.port}/hook"
    delivered = asyncio.run(asyncio.wait_for(sender._deliver(url, "job1", "completed", None), timeout=20))
    assert receiver.requests == []
    assert delivered is False
    # Attempt 1 went to the address that was checked, under the real Host; attempt 2's
    # lookup answered 127.0.0.1 and was refused, so there was no attempt 3.
    assert network.unreachable == [(PUBLIC_ADDRESS, f"localhost:{receiver.port}")]
    assert dns.lookups == [("localhost", receiver.port)] * 2


def test_private_receivers_are_reached_by_name_when_allowed(receiver_factory):
    receiver = receiver_factory(failures=0)

    def no_dns(host: str, port: int) -> list[str]:
        raise AssertionError("ALLOW_PRIVATE_CALLBACKS needs no checked lookup")

    sender = WebhookSender(WebhookConfig(secret=b"k", allow_private=True, max_attempts=1), resolver=no_dns)
    url = f"http://localhost:{receiver.port}/hook"
    assert asyncio.run(asyncio.wait_for(sender._deliver(url, "job1", "completed", None), timeout=20))
    assert receiver.requests[0][0]["host"] == f"localhost:{receiver.port}"
