"""A real service process for tests: ``python main.py`` on a free port, with its own data dir."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tools.cluster import free_port

__all__ = ["Server", "free_port", "read_status"]

ROOT = Path(__file__).resolve().parents[1]


def read_status(sock: socket.socket) -> int | None:
    """The status of the first HTTP response on a raw *sock*, or None if it closed without one."""
    data = b""
    while b"\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            return None
        data += chunk
    return int(data.split(b" ", 2)[1])


class Server:
    def __init__(self, data_dir: Path, **env: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = dict(
            os.environ,
            HOST="127.0.0.1",
            PORT=str(self.port),
            DATA_DIR=str(data_dir),
            MODEL_CACHE_DIR=str(ROOT / "var" / "models"),
            **env,
        )
        self.log = data_dir.parent / f"server-{self.port}.log"
        self.proc: subprocess.Popen | None = None
        self.memory = None  # set by suites that watch the process

    def start(self, timeout: float = 180, headers: dict[str, str] | None = None) -> Server:
        self.proc = subprocess.Popen(
            [sys.executable, "main.py"],
            cwd=ROOT,
            env=self.env,
            stdout=self.log.open("ab"),
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, f"server exited: {self.log.read_text()[-3000:]}"
            try:
                if httpx.get(f"{self.url}/health", timeout=2, headers=headers).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.5)
        raise AssertionError(f"server not healthy in {timeout} s: {self.log.read_text()[-3000:]}")

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(timeout=90)
