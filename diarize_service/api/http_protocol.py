"""The HTTP/1.1 protocol the service runs under uvicorn: uvicorn's own, plus a header deadline.

uvicorn closes idle keep-alive connections but sets no deadline on a request's
headers: a client that opens a socket and trickles a header byte now and then
holds a connection (and its buffers) forever, and twenty such sockets were
seen open indefinitely.  This subclass gives every request
``REQUEST_TIMEOUT_SECONDS`` from the connection (or the previous response) to
complete its headers, then answers 408 and closes.  Body reads are bounded
separately, in :mod:`.limits`, where the app knows which routes take bodies.
"""

from __future__ import annotations

import asyncio
from functools import cache

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from ..config import Settings

_TIMEOUT_BODY = (
    b'{"type":"about:blank","title":"Request timeout","status":408,"detail":"The request headers were late."}'
)
_TIMEOUT_RESPONSE = (
    b"HTTP/1.1 408 Request Timeout\r\ncontent-type: application/problem+json\r\nconnection: close\r\n"
    b"content-length: " + str(len(_TIMEOUT_BODY)).encode() + b"\r\n\r\n" + _TIMEOUT_BODY
)


@cache
def header_timeout() -> float:
    """Read once per process: uvicorn's worker processes import this module on their own."""
    return Settings().request_timeout_seconds


class GuardedHttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a deadline for each request's headers."""

    _header_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_header_timer()

    def on_headers_complete(self) -> None:
        self._disarm_header_timer()
        super().on_headers_complete()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():  # the next request's headers get their own deadline
            self._arm_header_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_header_timer()
        super().connection_lost(exc)

    def _arm_header_timer(self) -> None:
        self._disarm_header_timer()
        self._header_timer = self.loop.call_later(header_timeout(), self._headers_late)

    def _disarm_header_timer(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _headers_late(self) -> None:
        self._header_timer = None
        in_progress = self.cycle is not None and not self.cycle.response_complete
        if in_progress or self.transport.is_closing():
            return  # a request is being answered (pipelined or not): its body has deadlines of its own
        self.transport.write(_TIMEOUT_RESPONSE)
        self.transport.close()
