"""Job-finished webhooks, signed the Standard Webhooks way.

Each delivery is a small JSON body (no transcript: the receiver fetches the
result with its API key), with headers ``webhook-id``, ``webhook-timestamp``
and ``webhook-signature: v1,<base64 HMAC-SHA256(secret, "id.timestamp.body")>``
so receivers can use any Standard Webhooks library to verify it.  Delivery is
retried with exponential backoff; a failing receiver never fails the job.

Callback URLs must be http(s) and, unless ``ALLOW_PRIVATE_CALLBACKS``, must
not resolve to loopback, private, link-local or otherwise internal addresses
(checked at submission and again before each delivery, against DNS rebinding).
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
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import structlog

log = structlog.get_logger(__name__)


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


def check_callback_url(url: str, allow_private: bool) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise CallbackURLError("callback_url must be an absolute http(s) URL.")
    if allow_private:
        return
    try:
        infos = socket.getaddrinfo(parts.hostname, parts.port or 443, proto=socket.IPPROTO_TCP)
    except socket.gaierror as exc:
        raise CallbackURLError(f"callback_url host '{parts.hostname}' does not resolve.") from exc
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if not address.is_global:
            raise CallbackURLError(
                f"callback_url resolves to a non-public address ({address}); "
                "set ALLOW_PRIVATE_CALLBACKS=true to allow internal receivers."
            )


@dataclass(frozen=True)
class WebhookConfig:
    secret: bytes
    allow_private: bool = False
    max_attempts: int = 5
    initial_delay: float = 1.0
    timeout: float = 10.0


class WebhookSender:
    def __init__(self, config: WebhookConfig) -> None:
        self.config = config
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
        bound = log.bind(job_id=job_id, callback=url)
        async with httpx.AsyncClient(timeout=self.config.timeout, follow_redirects=False) as client:
            for attempt in range(1, self.config.max_attempts + 1):
                try:
                    await asyncio.to_thread(check_callback_url, url, self.config.allow_private)
                    timestamp = int(time.time())
                    response = await client.post(
                        url,
                        content=body,
                        headers={
                            "content-type": "application/json",
                            "webhook-id": message_id,
                            "webhook-timestamp": str(timestamp),
                            "webhook-signature": sign(self.config.secret, message_id, timestamp, body),
                        },
                    )
                    if 200 <= response.status_code < 300:
                        bound.info("webhook delivered", attempt=attempt)
                        return True
                    bound.warning("webhook refused", attempt=attempt, status=response.status_code)
                except CallbackURLError as exc:
                    bound.warning("webhook target not allowed", error=str(exc))
                    return False
                except httpx.HTTPError as exc:
                    bound.warning("webhook failed", attempt=attempt, error=str(exc))
                if attempt < self.config.max_attempts:
                    await asyncio.sleep(delay)
                    delay *= 2
        bound.error("webhook given up", attempts=self.config.max_attempts)
        return False

    async def close(self, timeout: float = 5.0) -> None:
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=timeout)
