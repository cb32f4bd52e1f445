"""Optional API keys and per-key submission rate limits.

Keys are configured as SHA-256 hashes (``API_KEYS=sha256:<hex>,...``), so the
settings file never holds a usable secret; ``python -m diarize_service.api.auth
<key>`` prints the hash to put there.  A request presents the key as
``Authorization: Bearer <key>`` or ``X-API-Key: <key>``; its hash is compared
with every configured hash in constant time.  The key's identity (a short
prefix of its hash) owns the jobs it submits: other keys get 404 for them.
With no keys configured the API is open (one-box default).
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

from .deps import SettingsDep
from .errors import ProblemError


def hash_key(key: str) -> str:
    return "sha256:" + hashlib.sha256(key.encode()).hexdigest()


def configured_hashes(raw: str) -> list[str]:
    return [h.strip().lower() for h in raw.split(",") if h.strip()]


def _presented_key(request: Request) -> str | None:
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip() or None
    return request.headers.get("x-api-key") or None


def current_client(request: Request, settings: SettingsDep) -> str | None:
    """The caller's key id, or None when authentication is disabled."""
    hashes = configured_hashes(settings.api_keys)
    if not hashes:
        return None
    key = _presented_key(request)
    if key is not None:
        presented = hash_key(key)
        matched = None
        for candidate in hashes:  # compare with all: timing does not reveal which matched
            if hmac.compare_digest(presented, candidate):
                matched = candidate
        if matched:
            return matched.removeprefix("sha256:")[:16]
    raise ProblemError(
        401,
        "Unauthorized",
        "A valid API key is required (Authorization: Bearer <key> or X-API-Key: <key>).",
        headers={"WWW-Authenticate": "Bearer"},
    )


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


if __name__ == "__main__":
    if len(sys.argv) != 2:
        print("usage: python -m diarize_service.api.auth <api-key>  (prints the value for API_KEYS)")
        sys.exit(2)
    print(hash_key(sys.argv[1]))
