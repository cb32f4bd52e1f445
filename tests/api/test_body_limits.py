"""MAX_UPLOAD_MB is enforced while the body streams in, not after it has been spooled.

These tests talk raw ASGI to the app instead of going through ``TestClient``:
the test client reads the whole request body before the app asks for it, so
it cannot show *when* the app stopped reading, and the route's own size check
(``AudioStore.save``) answers 413 too -- which is why the earlier tests kept
passing with ``BodySizeLimitMiddleware`` deleted.  Here every test counts the
bytes the app pulled, so "refused before reading" and "cut off while
streaming" are observable.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import pytest

from diarize_service.api.limits import BodySizeLimitMiddleware
from diarize_service.app import create_app

PROBLEM = "application/problem+json"
MIB = 1024 * 1024
BOUNDARY = "limit-test-boundary"


@dataclass
class Reply:
    status: int = 0
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    starts: int = 0  # http.response.start messages seen: exactly one per request
    pulled: int = 0  # body bytes the app asked for
    receive_calls: int = 0

    def json(self) -> dict:
        return json.loads(self.body)


async def post(
    app,
    path: str,
    chunks: list[bytes],
    content_length: int | None,
    content_type: str,
    extra_headers: list[tuple[bytes, bytes]] | None = None,
) -> Reply:
    """POST *chunks* to *app* over ASGI, without a Content-Length unless one is given."""
    reply = Reply()
    pending = list(chunks)
    headers = [(b"content-type", content_type.encode()), *(extra_headers or [])]
    if content_length is not None:
        headers.append((b"content-length", str(content_length).encode()))
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }

    async def receive() -> dict:
        reply.receive_calls += 1
        if not pending:
            return {"type": "http.disconnect"}
        chunk = pending.pop(0)
        reply.pulled += len(chunk)
        return {"type": "http.request", "body": chunk, "more_body": bool(pending)}

    async def send(message: dict) -> None:
        if message["type"] == "http.response.start":
            reply.starts += 1
            reply.status = message["status"]
            reply.headers = {k.decode().lower(): v.decode() for k, v in message["headers"]}
        elif message["type"] == "http.response.body":
            reply.body += message.get("body", b"")

    await asyncio.wait_for(app(scope, receive, send), timeout=20)
    return reply


def multipart(payload: bytes, chunk_size: int = 64 * 1024) -> list[bytes]:
    """A one-file ``audio_file`` form, cut into *chunk_size* pieces as a client streams it."""
    body = (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="audio_file"; filename="call.wav"\r\n'
        "Content-Type: audio/wav\r\n\r\n"
    ).encode()
    body += payload + f"\r\n--{BOUNDARY}--\r\n".encode()
    return [body[i : i + chunk_size] for i in range(0, len(body), chunk_size)]


def run_app(settings, processor, exchange: Callable[[object], Awaitable[Reply]]) -> tuple[Reply, int]:
    """Start the app (lifespan included), run *exchange* against it; return its reply and the job count."""
    app = create_app(settings, processor=processor)

    async def main() -> tuple[Reply, int]:
        async with app.router.lifespan_context(app):
            reply = await exchange(app)
            _, total = app.state.services.store.list(None, 1, 0)
            return reply, total

    return asyncio.run(main())


def submit_raw(chunks: list[bytes], declared: bool) -> Callable[[object], Awaitable[Reply]]:
    size = sum(map(len, chunks))
    return lambda app: post(
        app, "/diarize", chunks, size if declared else None, f"multipart/form-data; boundary={BOUNDARY}"
    )


def assert_413_problem(reply: Reply) -> None:
    assert reply.status == 413, reply.body
    assert reply.headers["content-type"].startswith(PROBLEM)
    body = reply.json()
    assert body["status"] == 413 and body["title"] and body["instance"] == "/diarize"
    assert reply.starts == 1  # one answer, not the 413 followed by the app's own reply


@pytest.fixture
def small_limit(settings):
    settings.max_upload_mb = 1
    return settings


def test_declared_content_length_over_the_limit_is_413_before_any_byte_is_read(small_limit, processor):
    """A client announcing 3 MiB against a 1 MiB limit is refused at once: the body is never read."""
    chunks = multipart(bytes(3 * MIB))
    reply, jobs = run_app(small_limit, processor, submit_raw(chunks, declared=True))
    assert_413_problem(reply)
    assert reply.receive_calls == 0 and reply.pulled == 0, "the body was read before refusing it"
    assert jobs == 0 and not any(small_limit.audio_dir.iterdir())


def test_chunked_body_over_the_limit_is_413_and_cut_off_while_streaming(small_limit, processor):
    """Without a Content-Length the bytes are counted: reading stops right after the limit.

    Otherwise Starlette spools all 8 MiB to a temporary file before the route
    (and its own size check) ever runs: disk filled by anyone who can POST.
    """
    chunks = multipart(bytes(8 * MIB))
    reply, jobs = run_app(small_limit, processor, submit_raw(chunks, declared=False))
    assert_413_problem(reply)
    assert reply.pulled < 1.5 * MIB, f"read {reply.pulled / MIB:.1f} MiB of an 8 MiB body before refusing"
    assert jobs == 0 and not any(small_limit.audio_dir.iterdir())


@pytest.mark.parametrize("declared", [True, False], ids=["content-length", "chunked"])
def test_body_under_the_limit_is_accepted(small_limit, processor, sample_wav, declared):
    """A 0.92 MiB call under a 1 MiB limit is queued, whether its length is declared or streamed.

    Guards the other side of the limit: a check that counts in the wrong unit or
    forgets the multipart overhead refuses legitimate uploads.
    """
    chunks = multipart(sample_wav.read_bytes())
    reply, jobs = run_app(small_limit, processor, submit_raw(chunks, declared))
    assert reply.status == 202, reply.body
    assert len(reply.json()["job_id"]) == 32 and jobs == 1
    assert reply.pulled == sum(map(len, chunks))


def test_upload_just_over_max_upload_is_refused_by_the_route_and_leaves_nothing(small_limit, processor):
    """Within the multipart slack the middleware lets a body through; the copy to disk stops it.

    A file of MAX_UPLOAD_MB + 10 KiB passes the middleware's limit (which allows
    for boundaries and form fields) and must still be refused, its partial copy removed.
    """
    chunks = multipart(bytes(MIB + 10 * 1024))
    reply, jobs = run_app(small_limit, processor, submit_raw(chunks, declared=True))
    assert_413_problem(reply)
    assert reply.pulled == sum(map(len, chunks))  # the middleware did let it through
    assert "limit" in reply.json()["detail"]
    assert jobs == 0 and not any(small_limit.audio_dir.iterdir())


# --- the middleware on its own: exact boundaries -------------------------------------------------


async def echo_length(scope, receive, send) -> None:
    """An app that reads its whole body and answers 200 with the byte count (even after a disconnect)."""
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        size += len(message.get("body", b""))
        if not message.get("more_body"):
            break
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": str(size).encode()})


LIMIT = 1000


def limited(path: str) -> int | None:
    return LIMIT if path == "/diarize" else None


def through_middleware(size: int, declared: bool, path: str = "/diarize", chunk: int = 100) -> Reply:
    app = BodySizeLimitMiddleware(echo_length, limit_for=limited)
    body = bytes(size)
    chunks = [body[i : i + chunk] for i in range(0, size, chunk)] or [b""]

    async def exchange() -> Reply:
        return await post(app, path, chunks, size if declared else None, "application/octet-stream")

    return asyncio.run(exchange())


@pytest.mark.parametrize("declared", [True, False], ids=["content-length", "chunked"])
def test_a_body_of_exactly_the_limit_passes_and_one_byte_more_does_not(declared):
    """The limit is inclusive: LIMIT bytes reach the app, LIMIT + 1 are refused."""
    at = through_middleware(LIMIT, declared)
    assert (at.status, at.body) == (200, str(LIMIT).encode())
    over = through_middleware(LIMIT + 1, declared)
    assert over.status == 413 and over.starts == 1
    assert over.headers["content-type"].startswith(PROBLEM)
    # refused before reading (declared) or right at the chunk that crossed the limit (chunked)
    assert over.pulled == (0 if declared else LIMIT + 1)


def test_paths_without_a_limit_are_not_counted():
    """Only the upload routes are limited: other paths get their body untouched, whatever its size."""
    reply = through_middleware(50 * LIMIT, declared=False, path="/jobs")
    assert (reply.status, reply.body) == (200, str(50 * LIMIT).encode())
