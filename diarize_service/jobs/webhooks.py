"""Job-finished webhooks, signed the Standard Webhooks way.

Each delivery is a small JSON body (no transcript: the receiver fetches the
result with its API key), with headers ``webhook-id``, ``webhook-timestamp``
and ``webhook-signature: v1,<base64 HMAC-SHA256(secret, "id.timestamp.body")>``
so receivers can use any Standard Webhooks library to verify it.  Delivery is
retried with exponential backoff; a failing receiver never fails the job.

Callback URLs must be http(s) and, unless ``ALLOW_PRIVATE_CALLBACKS``, must
only resolve to globally routable addresses: they are checked at submission
and again before each delivery.  Checking the name and then letting httpx
resolve it again would leave a DNS-rebinding gap (public at check time,
127.0.0.1 a moment later), so each attempt resolves the host once, checks
every address, and connects to a checked address itself: the URL carries the
IP, the ``Host`` header the real name, and for https the TLS handshake is
verified against the real name (httpcore's ``sni_hostname`` extension becomes
``server_hostname`` in ``SSLContext.wrap_bio``, which checks the certificate).
IPv6 forms that carry an IPv4 address (mapped, NAT64, 6to4) are judged by that
IPv4 address, and transition or deprecated ranges Python still calls global
(IPv4-compatible, Teredo, site-local, ...) are refused.

Callback URLs may carry credentials (``user:pass@``) or tokens in the query,
so logs show them masked, with control characters escaped.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import ipaddress
import json
import os
import secrets
import socket
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import structlog

from ..logging_setup import printable  # one escaper for logs and client-facing texts

log = structlog.get_logger(__name__)

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Sequence[str]]
"""``(host, port) -> IP address strings``; raises OSError when the name does not resolve."""

DEFAULT_PORTS = {"http": 80, "https": 443}

# IPv6 prefixes that embed an IPv4 address (judged by that address) besides
# IPv4-mapped (::ffff:0:0/96) and 6to4 (2002::/16), which ipaddress decodes.
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
# Not globally routable, though ipaddress (Python 3.11) calls some of them global.
_NOT_GLOBAL_V6 = tuple(
    ipaddress.IPv6Network(net)
    for net in (
        "::/96",  # IPv4-compatible (deprecated, RFC 4291), also :: and ::1
        "::ffff:0:0:0/96",  # IPv4-translated (SIIT)
        "64:ff9b:1::/48",  # local-use NAT64 (RFC 8215)
        "2001::/32",  # Teredo: the tunnel ends at an address we cannot judge
        "5f00::/16",  # SRv6 SIDs (RFC 9602)
        "3fff::/20",  # documentation (RFC 9637)
        "fec0::/10",  # site-local (deprecated)
    )
)


class CallbackURLError(ValueError):
    """The callback URL is malformed or points somewhere we must not call."""


def load_or_create_secret(configured: str, data_dir: Path) -> bytes:
    """WEBHOOK_SECRET if set (``whsec_<base64>``), else one generated once and kept in DATA_DIR."""
    value = configured
    if not value:
        path = data_dir / "webhook_secret"
        if not path.exists():
            data_dir.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as fh:
                fh.write("whsec_" + base64.b64encode(secrets.token_bytes(32)).decode())
        value = path.read_text().strip()
    return base64.b64decode(value.removeprefix("whsec_"))


def sign(secret: bytes, message_id: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret, f"{message_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode()


def loggable_url(url: str) -> str:
    """*url* for logs: userinfo, query and fragment masked, control characters escaped."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<invalid URL>"
    if not parts.netloc:
        return "<not an absolute URL>"
    _, at, rest = parts.netloc.rpartition("@")
    if not at and "@" in parts.path:  # an unencoded '/' in a password ends the authority early
        at, rest = "@", parts.path.rpartition("@")[2]
    else:
        rest += parts.path
    masked = f"{parts.scheme}://" + ("***@" if at else "") + rest
    masked += "?***" if parts.query else ""
    masked += "#***" if parts.fragment else ""
    return printable(masked)


def embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv4-mapped, 6to4 or NAT64 (well-known prefix) address leads to."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def is_public_address(address: IPAddress) -> bool:
    """True only for globally routable unicast addresses (and IPv6 forms of such IPv4 ones)."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = embedded_ipv4(address)
        if embedded is not None:
            return is_public_address(embedded)
        if any(address in net for net in _NOT_GLOBAL_V6):
            return False
    return address.is_global and not address.is_multicast


def system_resolver(host: str, port: int) -> list[str]:
    """The addresses the operating system resolves *host* to, in its preferred order."""
    infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


@dataclass(frozen=True)
class CallbackTarget:
    """A checked callback: *url* as given, and the addresses it may be sent to.

    ``addresses`` is empty when private targets are allowed: then httpx resolves
    the name itself, as there is nothing to protect against.
    """

    url: httpx.URL
    addresses: tuple[str, ...] = ()


def resolve_callback(url: str, allow_private: bool, resolver: Resolver = system_resolver) -> CallbackTarget:
    """Parse *url*, resolve its host once and check every address (unless *allow_private*)."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError, ValueError) as exc:  # httpx's message may quote the URL
        raise CallbackURLError("callback_url is not a valid URL.") from exc
    if parsed.scheme not in DEFAULT_PORTS or not parsed.raw_host:
        raise CallbackURLError("callback_url must be an absolute http(s) URL.")
    if parsed.port is not None and not 0 < parsed.port < 65536:
        raise CallbackURLError("callback_url has an invalid port.")
    if allow_private:
        return CallbackTarget(parsed)
    host = parsed.raw_host.decode("ascii")
    try:
        answers = list(resolver(host, parsed.port or DEFAULT_PORTS[parsed.scheme]))
    except (OSError, UnicodeError) as exc:
        raise CallbackURLError(f"callback_url host '{printable(host)}' does not resolve.") from exc
    if not answers:
        raise CallbackURLError(f"callback_url host '{printable(host)}' does not resolve.")
    addresses: list[str] = []
    for answer in answers:
        try:
            address = ipaddress.ip_address(answer)
        except ValueError as exc:
            raise CallbackURLError(f"callback_url host '{printable(host)}' does not resolve.") from exc
        if not is_public_address(address):
            raise CallbackURLError(
                f"callback_url resolves to a non-public address ({address}); "
                "set ALLOW_PRIVATE_CALLBACKS=true to allow internal receivers."
            )
        addresses.append(str(address))
    return CallbackTarget(parsed, tuple(dict.fromkeys(addresses)))


def check_callback_url(url: str, allow_private: bool, resolver: Resolver = system_resolver) -> None:
    """Raise CallbackURLError unless *url* may be called (see resolve_callback)."""
    resolve_callback(url, allow_private, resolver)


@dataclass(frozen=True)
class WebhookConfig:
    secret: bytes
    allow_private: bool = False
    max_attempts: int = 5
    initial_delay: float = 1.0
    timeout: float = 10.0


class WebhookSender:
    """Delivers job webhooks in the background.

    *resolver* and *transport* default to the system's DNS and httpx's own
    transport; tests pass their own to stage DNS answers and networks.
    """

    def __init__(
        self,
        config: WebhookConfig,
        *,
        resolver: Resolver = system_resolver,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.config = config
        self.resolver = resolver
        self.transport = transport
        self._tasks: set[asyncio.Task] = set()

    def notify(self, url: str, job_id: str, status: str, error: str | None) -> None:
        """Schedule delivery in the background (the job is already finished in the store)."""
        task = asyncio.create_task(self._deliver(url, job_id, status, error))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _deliver(self, url: str, job_id: str, status: str, error: str | None) -> bool:
        message_id = f"msg_{job_id}_{status}"
        payload = {
            "type": f"job.{status}",
            "timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "data": {"job_id": job_id, "status": status, "error": error},
        }
        body = json.dumps(payload, separators=(",", ":")).encode()
        delay = self.config.initial_delay
        bound = log.bind(job_id=job_id, callback=loggable_url(url))
        async with httpx.AsyncClient(
            timeout=self.config.timeout, follow_redirects=False, transport=self.transport
        ) as client:
            for attempt in range(1, self.config.max_attempts + 1):
                try:
                    # Resolve once per attempt; the request goes to what was checked here.
                    target = await asyncio.to_thread(
                        resolve_callback, url, self.config.allow_private, self.resolver
                    )
                    timestamp = int(time.time())
                    headers = {
                        "content-type": "application/json",
                        "webhook-id": message_id,
                        "webhook-timestamp": str(timestamp),
                        "webhook-signature": sign(self.config.secret, message_id, timestamp, body),
                    }
                    response = await self._post(client, target, body, headers)
                    if 200 <= response.status_code < 300:
                        bound.info("webhook delivered", attempt=attempt)
                        return True
                    bound.warning("webhook refused", attempt=attempt, status=response.status_code)
                except CallbackURLError as exc:
                    bound.warning("webhook target not allowed", error=printable(str(exc)))
                    return False
                except httpx.HTTPError as exc:
                    bound.warning(
                        "webhook failed", attempt=attempt, error=printable(str(exc) or type(exc).__name__)
                    )
                if attempt < self.config.max_attempts:
                    await asyncio.sleep(delay)
                    delay *= 2
        bound.error("webhook given up", attempts=self.config.max_attempts)
        return False

    @staticmethod
    async def _post(
        client: httpx.AsyncClient, target: CallbackTarget, body: bytes, headers: dict[str, str]
    ) -> httpx.Response:
        """POST to the first checked address that accepts a connection."""
        if not target.addresses:
            return await client.post(target.url, content=body, headers=headers)
        host = target.url.raw_host.decode("ascii")
        pinned_headers = {**headers, "host": target.url.netloc.decode("ascii")}
        extensions = {"sni_hostname": host} if target.url.scheme == "https" else {}
        for index, address in enumerate(target.addresses):
            try:
                return await client.post(
                    target.url.copy_with(host=address),
                    content=body,
                    headers=pinned_headers,
                    extensions=extensions,
                )
            except (httpx.ConnectError, httpx.ConnectTimeout):
                if index == len(target.addresses) - 1:
                    raise
        raise AssertionError("unreachable: addresses is not empty")

    async def close(self, timeout: float = 5.0) -> None:
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=timeout)
