"""Optional API keys and per-key submission rate limits.

Keys are configured as SHA-256 hashes (``API_KEYS=sha256:<hex>,...``), so the
settings file never holds a usable secret; ``python -m diarize_service.api.auth
<key>`` prints the hash to put there.  A request presents the key as
``Authorization: Bearer <key>`` or ``X-API-Key: <key>``; its hash is compared
with every configured hash in constant time.  The key's identity (a short
prefix of its hash) owns the jobs it submits: other keys get 404 for them.
With no keys configured the API is open (one-box default).

:class:`RequestGateMiddleware` applies the key check, the rate limit and the
queue's capacity from the headers alone, before the body is read: an
unauthenticated or refused client cannot make the service receive and spool
a 2 GiB batch first.  The route dependency checks the key again (cheap), so
a route never relies on the middleware being installed.
"""

from __future__ import annotations

import hashlib
import hmac
import sys
import threading
import time
from collections import deque
from typing import Annotated

from fastapi import Depends, Request
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from ..jobs.models import JobStatus
from .deps import SettingsDep
from .errors import ProblemError, infrastructure_errors, send_problem, unavailable

UNAUTHORIZED = "A valid API key is required (Authorization: Bearer <key> or X-API-Key: <key>)."
OPEN_PATHS = ("/health",)  # readiness probes carry no key
CONSOLE = "/ui"  # issue #21: the web console's pages and scripts hold no data; it asks the API with a key
SUBMISSION_PATHS = ("/diarize", "/batch-diarize")


def is_open(path: str) -> bool:
    """Paths served without a key: /health, and the console's static pages under /ui (issue #21)."""
    return path in OPEN_PATHS or path == CONSOLE or path.startswith(CONSOLE + "/")


def hash_key(key: str) -> str:
    return "sha256:" + hashlib.sha256(key.encode()).hexdigest()


def configured_hashes(raw: str) -> list[str]:
    return [h.strip().lower() for h in raw.split(",") if h.strip()]


def _presented_key(headers: Headers) -> str | None:
    auth = headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip() or None
    return headers.get("x-api-key") or None


def client_for(headers: Headers, hashes: list[str]) -> str | None:
    """The key id of the request's key among *hashes*, or None when it has no valid key."""
    key = _presented_key(headers)
    if key is None:
        return None
    presented = hash_key(key)
    matched = None
    for candidate in hashes:  # compare with all: timing does not reveal which matched
        if hmac.compare_digest(presented, candidate):
            matched = candidate
    return matched.removeprefix("sha256:")[:16] if matched else None


def current_client(request: Request, settings: SettingsDep) -> str | None:
    """The caller's key id, or None when authentication is disabled."""
    hashes = configured_hashes(settings.api_keys)
    if not hashes:
        return None
    client = client_for(request.headers, hashes)
    if client is None:
        raise ProblemError(401, "Unauthorized", UNAUTHORIZED, headers={"WWW-Authenticate": "Bearer"})
    return client


ClientDep = Annotated[str | None, Depends(current_client)]


class RateLimiter:
    """Sliding one-minute window of submissions per client (in this process)."""

    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self._hits: dict[str | None, deque[float]] = {}
        self._lock = threading.Lock()

    def check(self, client: str | None) -> None:
        if self.per_minute <= 0:
            return
        now = time.monotonic()
        with self._lock:
            hits = self._hits.setdefault(client, deque())
            while hits and now - hits[0] >= 60:
                hits.popleft()
            if len(hits) >= self.per_minute:
                retry = max(1, int(60 - (now - hits[0])) + 1)
                raise ProblemError(
                    429,
                    "Too many requests",
                    f"At most {self.per_minute} submissions per minute per API key.",
                    headers={"Retry-After": str(retry)},
                )
            hits.append(now)


class RequestGateMiddleware:
    """Key, rate limit and queue capacity, decided from the headers before the body is read."""

    def __init__(self, app: ASGIApp, api_keys: str) -> None:
        self.app = app
        self.hashes = configured_hashes(api_keys)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or is_open(scope["path"]):
            await self.app(scope, receive, send)
            return
        client = None
        if self.hashes:
            client = client_for(Headers(scope=scope), self.hashes)
            if client is None:
                headers = {"WWW-Authenticate": "Bearer", "connection": "close"}
                await send_problem(send, 401, "Unauthorized", UNAUTHORIZED, scope["path"], headers)
                return
        if scope["method"] == "POST" and scope["path"] in SUBMISSION_PATHS:
            services = scope["app"].state.services
            try:
                services.rate_limiter.check(client)
                if services.store.count(JobStatus.QUEUED) >= services.settings.max_queue_size:
                    raise ProblemError(
                        503,
                        "Queue full",
                        "Too many jobs are waiting; retry later.",
                        headers={"Retry-After": "30"},
                    )
            except infrastructure_errors() as exc:
                problem = unavailable(exc)
                headers = {**(problem.headers or {}), "connection": "close"}
                await send_problem(send, 503, problem.title, problem.detail, scope["path"], headers)
                return
            except ProblemError as exc:
                headers = {**(exc.headers or {}), "connection": "close"}
                await send_problem(send, exc.status, exc.title, exc.detail, scope["path"], headers)
                return
        await self.app(scope, receive, send)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        print("usage: python -m diarize_service.api.auth <api-key>  (prints the value for API_KEYS)")
        sys.exit(2)
    print(hash_key(sys.argv[1]))
