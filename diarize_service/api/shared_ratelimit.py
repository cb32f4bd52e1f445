"""Submission rate limits shared by all API replicas, in Redis.

The embedded limiter counts in one process; behind a load balancer each
replica would allow the full rate.  This one keeps each key's sliding
one-minute window as a Redis sorted set, and checks and records a hit in
one Lua script, so two replicas cannot both let the last allowed request in.
"""

from __future__ import annotations

import time
import uuid

import redis

from .errors import ProblemError

_SLIDING_WINDOW = """
local key, now, window, limit = KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
local count = redis.call('ZCARD', key)
if count >= limit then
  local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
  return {0, tostring(oldest[2])}
end
redis.call('ZADD', key, now, ARGV[4])
redis.call('PEXPIRE', key, math.ceil(window * 1000) + 1000)
return {1, ''}
"""


class RedisRateLimiter:
    """Same contract as :class:`~diarize_service.api.auth.RateLimiter`, across processes."""

    def __init__(self, url: str, per_minute: int, window: float = 60.0) -> None:
        self.per_minute = per_minute
        self.window = window
        self._redis = redis.Redis.from_url(url, socket_timeout=3, socket_connect_timeout=3)
        self._script = self._redis.register_script(_SLIDING_WINDOW)

    def check(self, client: str | None) -> None:
        if self.per_minute <= 0:
            return
        now = time.time()
        allowed, oldest = self._script(
            keys=[f"diarize:rate:{client or '-'}"], args=[now, self.window, self.per_minute, uuid.uuid4().hex]
        )
        if int(allowed):
            return
        retry = max(1, int(self.window - (now - float(oldest))) + 1)
        raise ProblemError(
            429,
            "Too many requests",
            f"At most {self.per_minute} submissions per minute per API key.",
            headers={"Retry-After": str(retry)},
        )
