"""Clients that never finish: unauthenticated bodies, trickled headers and bodies, open routes."""

from __future__ import annotations

import socket
import time

import httpx
import pytest

from tests.abuse.conftest import AUTH, REQUEST_TIMEOUT
from tests.servers import read_status

pytestmark = pytest.mark.models


def _connect(server) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=REQUEST_TIMEOUT * 4)
    return sock


def test_unauthenticated_upload_is_refused_before_its_body(abuse_server):
    """The 401 arrives while the client has sent only headers of a declared 2 GiB batch."""
    with _connect(abuse_server) as sock:
        sock.sendall(
            b"POST /batch-diarize HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=b\r\n"
            b"Content-Length: 2147483648\r\n\r\n--b\r\n"
        )
        started = time.monotonic()
        assert read_status(sock) == 401
        assert time.monotonic() - started < REQUEST_TIMEOUT


def test_trickled_headers_get_408_and_the_connection_closes(abuse_server):
    with _connect(abuse_server) as sock:
        sock.sendall(b"POST /diarize HTTP/1.1\r\nHost: x\r\n")
        started = time.monotonic()
        try:
            for _ in range(int(REQUEST_TIMEOUT * 4 / 0.5)):
                sock.sendall(b"X")
                time.sleep(0.5)
        except (BrokenPipeError, ConnectionResetError):
            pass
        assert read_status(sock) in (408, None)
        assert time.monotonic() - started < REQUEST_TIMEOUT * 4


def test_idle_connection_is_closed(abuse_server):
    with _connect(abuse_server) as sock:
        started = time.monotonic()
        assert read_status(sock) == 408
        assert time.monotonic() - started < REQUEST_TIMEOUT + 2


def test_trickled_body_gets_408(abuse_server):
    with _connect(abuse_server) as sock:
        sock.sendall(
            b"POST /diarize HTTP/1.1\r\nHost: x\r\nAuthorization: " + AUTH["Authorization"].encode() + b"\r\n"
            b"Content-Type: multipart/form-data; boundary=b\r\nContent-Length: 100000\r\n\r\n"
            b'--b\r\nContent-Disposition: form-data; name="audio_file"; filename="a.wav"\r\n\r\n'
        )
        started = time.monotonic()
        status = None
        try:
            while time.monotonic() - started < REQUEST_TIMEOUT * 5:
                sock.sendall(b"A" * 10)
                time.sleep(0.25)
        except (BrokenPipeError, ConnectionResetError):
            pass
        sock.settimeout(5)
        status = read_status(sock)
        assert status == 408, status


@pytest.mark.parametrize("path", ["/metrics", "/docs", "/openapi.json", "/jobs"])
def test_routes_need_a_key(abuse_server, path):
    assert httpx.get(f"{abuse_server.url}{path}").status_code == 401
    assert httpx.get(f"{abuse_server.url}{path}", headers=AUTH).status_code == 200


def test_health_stays_open(abuse_server):
    assert httpx.get(f"{abuse_server.url}/health").status_code == 200
