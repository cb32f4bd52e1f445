"""RATE_LIMIT_PER_MINUTE is a sliding one-minute window, checked against a clock the test controls.

The API test in tests/api/test_security.py only sees the limit trip; it runs in
well under a minute, so it cannot tell a sliding window from a lock-out that
never ends, nor a 59-second window from a 60-second one.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from diarize_service.api import auth
from diarize_service.api.auth import RateLimiter
from diarize_service.api.errors import ProblemError


@pytest.fixture
def clock(monkeypatch) -> SimpleNamespace:
    """``time.monotonic`` as seen by the auth module only; advance it by setting ``clock.now``."""
    state = SimpleNamespace(now=1000.0)
    monkeypatch.setattr(auth, "time", SimpleNamespace(monotonic=lambda: state.now))
    return state


def refused(limiter: RateLimiter, client: str | None) -> int | None:
    """The Retry-After seconds of a 429, or None when the submission was allowed."""
    try:
        limiter.check(client)
    except ProblemError as exc:
        assert exc.status == 429
        return int(exc.headers["Retry-After"])
    return None


def test_the_window_slides_after_60_seconds_not_59(clock):
    """Each hit counts for exactly 60 s: at +59 s the oldest still counts, at +60 s it has left."""
    limiter = RateLimiter(per_minute=2)
    start = clock.now
    assert refused(limiter, "k") is None  # hit at +0
    clock.now = start + 10
    assert refused(limiter, "k") is None  # hit at +10: the window is full
    clock.now = start + 30
    assert 30 <= refused(limiter, "k") <= 31  # the +0 hit leaves in 30 s
    clock.now = start + 59
    assert refused(limiter, "k") is not None  # refusals do not count as hits, but +0 still does
    clock.now = start + 60
    assert refused(limiter, "k") is None  # +0 left: one slot, taken now (hits at +10, +60)
    assert refused(limiter, "k") is not None
    clock.now = start + 69.5
    assert refused(limiter, "k") is not None  # +10 leaves at +70
    clock.now = start + 70
    assert refused(limiter, "k") is None


def test_each_client_has_its_own_window_and_zero_means_unlimited(clock):
    limiter = RateLimiter(per_minute=1)
    assert refused(limiter, "alice") is None
    assert refused(limiter, "alice") is not None
    assert refused(limiter, "bob") is None
    assert refused(limiter, None) is None  # authentication off: one shared window
    unlimited = RateLimiter(per_minute=0)
    assert all(refused(unlimited, "alice") is None for _ in range(1000))
