"""Webhook targets: which addresses may be called, how the request is pinned, what is logged.

The address table covers the IPv6 forms that smuggle an internal IPv4 address
past ``ipaddress.is_global`` (NAT64, 6to4, IPv4-compatible, IPv4-mapped,
Teredo).  Pinning is checked on the request httpx actually builds (MockTransport),
so no network is needed; the DNS-rebinding test with a real receiver lives in
tests/api/test_webhooks.py.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging

import httpx
import pytest
import structlog

from diarize_service.jobs import webhooks
from diarize_service.jobs.webhooks import (
    CallbackURLError,
    WebhookConfig,
    WebhookSender,
    check_callback_url,
    is_public_address,
    loggable_url,
    resolve_callback,
)

PUBLIC_V4 = "93.184.215.14"


@pytest.mark.parametrize(
    ("address", "public"),
    [
        # IPv4
        ("8.8.8.8", True),
        (PUBLIC_V4, True),
        ("127.0.0.1", False),
        ("10.0.0.1", False),
        ("172.16.5.4", False),
        ("192.168.1.1", False),
        ("169.254.169.254", False),  # cloud metadata
        ("100.64.0.1", False),  # carrier-grade NAT
        ("0.0.0.0", False),
        ("255.255.255.255", False),
        ("224.0.0.1", False),  # multicast
        ("239.255.255.250", False),
        ("240.0.0.1", False),
        ("192.0.2.1", False),  # documentation
        ("198.18.0.1", False),  # benchmarking
        # IPv6, plain
        ("2606:4700:4700::1111", True),
        ("::1", False),
        ("::", False),
        ("fe80::1", False),
        ("fc00::1", False),
        ("fd12:3456::1", False),
        ("fec0::1", False),  # site-local (deprecated)
        ("ff0e::1", False),  # global-scope multicast
        ("2001:db8::1", False),  # documentation
        ("3fff::1", False),  # documentation (RFC 9637)
        ("5f00::1", False),  # SRv6 SIDs
        ("100::1", False),  # discard-only
        # IPv4-mapped
        ("::ffff:127.0.0.1", False),
        ("::ffff:10.0.0.1", False),
        ("::ffff:8.8.8.8", True),
        # IPv4-compatible (deprecated; never routable)
        ("::127.0.0.1", False),
        ("::8.8.8.8", False),
        # IPv4-translated (SIIT)
        ("::ffff:0:127.0.0.1", False),
        # NAT64, well-known prefix: judged by the embedded IPv4 address
        ("64:ff9b::a00:1", False),  # 10.0.0.1
        ("64:ff9b::7f00:1", False),  # 127.0.0.1
        ("64:ff9b::a9fe:a9fe", False),  # 169.254.169.254
        ("64:ff9b::808:808", True),  # 8.8.8.8
        ("64:ff9b:1::808:808", False),  # local-use NAT64 prefix
        # 6to4: judged by the embedded IPv4 address
        ("2002:7f00:1::", False),  # 127.0.0.1
        ("2002:a00:1::1", False),  # 10.0.0.1
        ("2002:808:808::1", True),  # 8.8.8.8
        # Teredo (server and client obfuscated in the address)
        ("2001:0:4136:e378:8000:63bf:3fff:fdd2", False),
        ("2001:0:5ef5:79fd:0:5d9:80ff:fffe", False),  # client 127.0.0.1 (obfuscated)
    ],
)
def test_only_globally_routable_addresses_are_public(address, public):
    assert is_public_address(ipaddress.ip_address(address)) is public


@pytest.mark.parametrize(
    "url",
    [
        "http://[64:ff9b::a00:1]/hook",
        "http://[2002:7f00:1::]/hook",
        "http://[::127.0.0.1]/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "http://[2001:0:5ef5:79fd:0:5d9:80ff:fffe]/hook",
        "https://[64:ff9b::a9fe:a9fe]:8443/latest/meta-data",
    ],
)
def test_ipv6_literals_embedding_internal_ipv4_are_refused(url):
    with pytest.raises(CallbackURLError, match="non-public"):
        check_callback_url(url, allow_private=False)


@pytest.mark.parametrize(
    "url",
    ["http://a:99999/x", "http://a\x1bb/x", "http:///x", "ftp://example.com/x", "nope", "http://[::1/"],
)
def test_malformed_urls_are_refused_without_echoing_them(url):
    with pytest.raises(CallbackURLError) as info:
        check_callback_url(url, allow_private=True)
    assert "\x1b" not in str(info.value)


def test_every_resolved_address_is_checked():
    def dns(host: str, port: int) -> list[str]:
        assert (host, port) == ("hooks.example.com", 443)
        return [PUBLIC_V4, "10.0.0.7"]

    with pytest.raises(CallbackURLError, match=r"10\.0\.0\.7"):
        resolve_callback("https://hooks.example.com/x", False, dns)
    target = resolve_callback("https://hooks.example.com/x", False, lambda h, p: [PUBLIC_V4, PUBLIC_V4])
    assert target.addresses == (PUBLIC_V4,)


def test_private_targets_are_not_resolved_when_allowed():
    def dns(host: str, port: int) -> list[str]:
        raise AssertionError("no lookup needed")

    assert resolve_callback("http://127.0.0.1:9/x", True, dns).addresses == ()


def deliver(sender: WebhookSender, url: str) -> bool:
    return asyncio.run(asyncio.wait_for(sender._deliver(url, "job1", "completed", None), timeout=10))


def recording_transport(seen: list[httpx.Request], status: int = 204) -> httpx.MockTransport:
    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(status)

    return httpx.MockTransport(handle)


@pytest.mark.parametrize(
    ("url", "address", "host_header", "sni"),
    [
        ("http://hooks.example.com/hook?x=1", PUBLIC_V4, "hooks.example.com", None),
        (
            "https://alice:pw@Hooks.Example.com:8443/h",
            PUBLIC_V4,
            "hooks.example.com:8443",
            "hooks.example.com",
        ),
        ("https://hooks.example.com/h", "2606:4700:4700::1111", "hooks.example.com", "hooks.example.com"),
    ],
)
def test_request_goes_to_the_checked_address_with_the_real_host(url, address, host_header, sni):
    seen: list[httpx.Request] = []
    sender = WebhookSender(
        WebhookConfig(secret=b"k", max_attempts=1),
        resolver=lambda host, port: [address],
        transport=recording_transport(seen),
    )
    assert deliver(sender, url) is True
    (request,) = seen
    assert request.url.host == address
    assert request.url.path == httpx.URL(url).path and request.url.query == httpx.URL(url).query
    assert request.headers["host"] == host_header
    assert request.extensions.get("sni_hostname") == sni  # TLS is verified against the real name
    if "alice" in url:
        assert request.headers["authorization"].startswith("Basic ")  # userinfo still authenticates


def test_next_checked_address_is_tried_when_one_does_not_connect():
    tried: list[str] = []

    def handle(request: httpx.Request) -> httpx.Response:
        tried.append(request.url.host)
        if request.url.host == "2606:4700:4700::1111":
            raise httpx.ConnectError("network unreachable", request=request)
        return httpx.Response(204)

    sender = WebhookSender(
        WebhookConfig(secret=b"k", max_attempts=1),
        resolver=lambda host, port: ["2606:4700:4700::1111", PUBLIC_V4],
        transport=httpx.MockTransport(handle),
    )
    assert deliver(sender, "http://hooks.example.com/h") is True
    assert tried == ["2606:4700:4700::1111", PUBLIC_V4]


@pytest.mark.parametrize(
    ("url", "logged"),
    [
        (
            "https://alice:s3cret@hooks.example.com:8443/hook?token=t0ps3cret#frag",
            "https://***@hooks.example.com:8443/hook?***#***",
        ),
        ("http://hooks.example.com/hook", "http://hooks.example.com/hook"),
        ("http://user:pa/ss@hooks.example.com/h", "http://***@hooks.example.com/h"),
        ("http://h/p\x1b[2J\u202e\x85", "http://h/p\\x1b[2J\\u202e\\x85"),
        ("nope", "<not an absolute URL>"),
        ("http://[::1/", "<invalid URL>"),
    ],
)
def test_loggable_url_masks_credentials_and_escapes_control_characters(url, logged):
    assert loggable_url(url) == logged


@pytest.mark.parametrize(
    "url",
    [
        "https://alice:s3cret@hooks.example.com/hook?token=t0ps3cret",
        "https://alice:s3cret@hooks.example.com/ho\u202eok\x85?token=t0ps3cret",
        "https://alice:s3cret@hooks.exa\x1bmple\x00.com/hook?token=t0ps3cret",
        "https://alice:s3cret@hooks.example.com/h\nFORGED=1?token=t0ps3cret",
    ],
)
def test_delivery_logs_carry_no_credentials_or_control_characters(monkeypatch, url):
    capture = structlog.testing.LogCapture()
    logger = structlog.wrap_logger(
        structlog.ReturnLogger(),
        processors=[capture],
        wrapper_class=structlog.make_filtering_bound_logger(logging.NOTSET),
    )
    monkeypatch.setattr(webhooks, "log", logger)
    sender = WebhookSender(
        WebhookConfig(secret=b"k", max_attempts=2, initial_delay=0),
        resolver=lambda host, port: [PUBLIC_V4],
        transport=recording_transport([], status=500),
    )
    assert deliver(sender, url) is False
    assert capture.entries, "the delivery logged nothing"
    for entry in capture.entries:
        for value in entry.values():
            text = str(value)
            assert "s3cret" not in text and "t0ps3cret" not in text, entry
            assert text.isprintable(), entry
    assert all(entry["callback"].startswith("https://***@") for entry in capture.entries)
