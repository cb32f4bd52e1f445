"""Request-body size limit enforced while the body streams in.

A declared ``Content-Length`` over the limit is refused before any byte is
read.  That alone misses chunked uploads, which Starlette would otherwise
spool to a temporary file in full before the route sees them, so the
middleware also counts bytes as they arrive and aborts with 413 as soon as
the limit is passed; Starlette removes the partial temporary file.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .errors import PROBLEM_JSON


class BodySizeLimitMiddleware:
    def __init__(self, app: ASGIApp, limit_for: Callable[[str], int | None]) -> None:
        self.app = app
        self.limit_for = limit_for

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        limit = self.limit_for(scope["path"]) if scope["type"] == "http" else None
        if limit is None:
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > limit:  # refuse before reading anything
            await _send_413(send, scope["path"], limit)
            return
        received = 0
        answered = False

        async def counted() -> Message:
            nonlocal received, answered
            if answered:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    # Answer now, then tell the app the client went away so it stops reading.
                    answered = True
                    await _send_413(send, scope["path"], limit)
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            if not answered:  # the app's own reply to the aborted request is dropped
                await send(message)

        await self.app(scope, counted, guarded_send)


async def _send_413(send: Send, path: str, limit: int) -> None:
    body = json.dumps(
        {
            "type": "about:blank",
            "title": "Upload too large",
            "status": 413,
            "detail": f"The request body exceeds the limit of {limit / 1024 / 1024:.1f} MiB.",
            "instance": path,
        }
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", PROBLEM_JSON.encode()),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
