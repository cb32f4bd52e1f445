"""uvicorn with the service's protocol: a request's headers get REQUEST_TIMEOUT_SECONDS, then 408."""

from __future__ import annotations

import asyncio
import socket
import threading
import time

import pytest
import uvicorn

from diarize_service.api import http_protocol
from tests.servers import read_status


async def _app(scope, receive, send) -> None:
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]})
    await send({"type": "http.response.body", "body": b"ok"})


@pytest.fixture
def server(monkeypatch):
    monkeypatch.setattr(http_protocol, "header_timeout", lambda: 0.5)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = uvicorn.Config(
        _app, host="127.0.0.1", port=port, http=http_protocol.GuardedHttpProtocol, log_level="error"
    )
    served = uvicorn.Server(config)
    thread = threading.Thread(target=lambda: asyncio.run(served.serve()), daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not served.started:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    yield port
    served.should_exit = True
    thread.join(timeout=10)


def test_headers_that_never_finish_get_408(server):
    with socket.create_connection(("127.0.0.1", server), timeout=5) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")  # and nothing more
        started = time.monotonic()
        assert read_status(sock) == 408
        assert time.monotonic() - started < 2


def test_a_keep_alive_connection_gets_a_new_deadline_per_request(server):
    with socket.create_connection(("127.0.0.1", server), timeout=5) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        assert read_status(sock) == 200
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")  # the second request's headers trickle
        deadline = time.monotonic() + 3
        data = b""
        while b"408" not in data:
            assert time.monotonic() < deadline, data
            chunk = sock.recv(1024)
            if not chunk:
                break
            data += chunk
        assert b"408" in data


def test_a_prompt_request_is_served(server):
    with socket.create_connection(("127.0.0.1", server), timeout=5) as sock:
        time.sleep(0.2)
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        assert read_status(sock) == 200
