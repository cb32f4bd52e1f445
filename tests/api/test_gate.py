"""Decided from the headers, before the body: the API key, the rate limit and the queue's room.

Raw ASGI (see test_body_limits.py) so that the bytes the app pulled are
observable: a refused client must not get its body read at all.
"""

from __future__ import annotations

import pytest

from diarize_service.api.auth import hash_key
from tests.api.test_body_limits import BOUNDARY, multipart, post, run_app

KEY = "gate-test-key"


def _submit(headers: list[tuple[bytes, bytes]] | None = None, path: str = "/diarize"):
    chunks = multipart(bytes(256 * 1024))

    async def exchange(app):
        return await post(
            app,
            path,
            chunks,
            sum(map(len, chunks)),
            f"multipart/form-data; boundary={BOUNDARY}",
            headers or [],
        )

    return exchange


@pytest.fixture
def keyed(settings):
    settings.api_keys = hash_key(KEY)
    return settings


@pytest.mark.parametrize("path", ["/diarize", "/batch-diarize"])
def test_a_submission_without_a_valid_key_is_401_before_its_body_is_read(keyed, processor, path):
    for headers in ([], [(b"x-api-key", b"wrong")]):
        reply, jobs = run_app(keyed, processor, _submit(headers, path))
        assert reply.status == 401, reply.body
        assert reply.headers["content-type"] == "application/problem+json"
        assert reply.pulled == 0 and reply.receive_calls == 0, "the body was read before the 401"
        assert jobs == 0


def test_a_valid_key_gets_its_upload_read(keyed, processor):
    reply, _ = run_app(keyed, processor, _submit([(b"x-api-key", KEY.encode())]))
    assert reply.status == 415, reply.body  # zeros are not audio: the body was read and probed
    assert reply.pulled > 256 * 1024


def test_over_the_rate_limit_is_429_before_the_body(settings, processor):
    settings.rate_limit_per_minute = 1

    async def twice(app):
        exchange = _submit()
        await exchange(app)
        return await exchange(app)

    reply, _ = run_app(settings, processor, twice)
    assert reply.status == 429 and reply.headers["retry-after"]
    assert reply.pulled == 0


def test_a_full_queue_is_503_before_the_body(settings, processor):
    settings.max_queue_size = 5

    async def full(app):
        app.state.services.store.count = lambda status: 5  # as if five jobs were waiting
        return await _submit()(app)

    reply, _ = run_app(settings, processor, full)
    assert reply.status == 503 and reply.headers["retry-after"]
    assert reply.pulled == 0
