"""Request-body limits enforced while the body streams in: size and read time.

A declared ``Content-Length`` over the limit is refused before any byte is
read.  That alone misses chunked uploads, which Starlette would otherwise
spool to a temporary file in full before the route sees them, so the
middleware also counts bytes as they arrive and aborts with 413 as soon as
the limit is passed; Starlette removes the partial temporary file.

Time is bounded the same way: a read that waits longer than the idle timeout,
or an upload whose average rate falls under the minimum once its grace
period is over, ends in 408.  Without this a client trickling a byte now
and then holds a connection and a temporary file for as long as it likes.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .errors import send_problem


class BodySizeLimitMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        limit_for: Callable[[str], int | None],
        idle_timeout: float | None = None,
        min_bytes_per_second: float = 0.0,
    ) -> None:
        self.app = app
        self.limit_for = limit_for
        self.idle_timeout = idle_timeout
        self.min_bytes_per_second = min_bytes_per_second

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        limit = self.limit_for(scope["path"]) if scope["type"] == "http" else None
        if limit is None:
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > limit:  # refuse before reading anything
            await _too_large(send, scope["path"], limit)
            return
        received = 0
        answered = False
        started = time.monotonic()

        async def counted() -> Message:
            nonlocal received, answered
            if answered:
                return {"type": "http.disconnect"}
            try:
                message = await asyncio.wait_for(receive(), self.idle_timeout)
            except TimeoutError:
                answered = True
                await _too_slow(send, scope["path"], "The upload paused for too long.")
                return {"type": "http.disconnect"}
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    # Answer now, then tell the app the client went away so it stops reading.
                    answered = True
                    await _too_large(send, scope["path"], limit)
                    return {"type": "http.disconnect"}
                if self._too_slow(received, time.monotonic() - started):
                    answered = True
                    await _too_slow(send, scope["path"], "The upload is arriving too slowly.")
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            if not answered:  # the app's own reply to the aborted request is dropped
                await send(message)

        await self.app(scope, counted, guarded_send)

    def _too_slow(self, received: int, elapsed: float) -> bool:
        """Below the minimum average rate, once the grace period (the idle timeout) is over."""
        if not self.min_bytes_per_second or self.idle_timeout is None:
            return False
        grace = self.idle_timeout
        return elapsed > grace and received < (elapsed - grace) * self.min_bytes_per_second


async def _too_large(send: Send, path: str, limit: int) -> None:
    detail = f"The request body exceeds the limit of {limit / 1024 / 1024:.1f} MiB."
    await send_problem(send, 413, "Upload too large", detail, path)


async def _too_slow(send: Send, path: str, detail: str) -> None:
    await send_problem(send, 408, "Request timeout", detail, path, headers={"connection": "close"})
