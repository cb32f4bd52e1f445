"""``./build.sh cluster``: the production topology on one machine, for developers, tests and benchmarks.

It starts, from Debian packages (installed by build.sh when missing), a
PostgreSQL cluster and a Redis broker on loopback, then two API replicas
(ports 8000 and 8001) and two model workers, all in ``SERVICE_MODE=cluster``
sharing one data directory (``AUDIO_STORAGE=file``).  Every process it starts
has a pid file in ``var/cluster/<name>.pid``; Ctrl-C or SIGTERM stops them
all, servers last.  The same classes start the servers for the cluster tests.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PG_BIN = Path("/usr/lib/postgresql/15/bin")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, timeout: float, process: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"process exited with {process.returncode} before listening on {port}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise TimeoutError(f"nothing listens on port {port} after {timeout} s")


class Postgres:
    """A throw-away PostgreSQL cluster owned by the ``postgres`` user (initdb refuses root)."""

    def __init__(self, directory: Path, port: int | None = None) -> None:
        self.directory = directory
        self.port = port or free_port()
        self.url = f"postgresql+psycopg://diarize@127.0.0.1:{self.port}/diarize"

    def _as_postgres(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        command = list(args)
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        return subprocess.run(command, check=check, capture_output=True, text=True, timeout=120)

    def start(self) -> Postgres:
        self.directory.mkdir(parents=True, exist_ok=True)
        if (
            os.geteuid() == 0
            and self._as_postgres("test", "-w", str(self.directory.parent), check=False).returncode
        ):
            # pytest's temporary folders are root-only: the cluster lives in one postgres can reach
            self.directory = Path(tempfile.mkdtemp(prefix="diarize-pg-"))
        data = self.directory / "pgdata"
        if not (data / "PG_VERSION").exists():
            data.mkdir(parents=True, exist_ok=True)
            if os.geteuid() == 0:
                shutil.chown(self.directory, "postgres")
                shutil.chown(data, "postgres")
            self._as_postgres(str(PG_BIN / "initdb"), "-D", str(data), "-A", "trust", "-U", "diarize")
        self._pg_ctl(
            "start",
            "-w",
            "-l",
            str(self.directory / "postgres.log"),
            "-o",
            f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1",
        )
        created = self._as_postgres(
            str(PG_BIN / "createdb"),
            "-h",
            "127.0.0.1",
            "-p",
            str(self.port),
            "-U",
            "diarize",
            "diarize",
            check=False,
        )
        if created.returncode != 0 and "already exists" not in created.stderr:
            raise RuntimeError(created.stderr)
        return self

    def _pg_ctl(self, action: str, *args: str) -> None:
        self._as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(self.directory / "pgdata"), action, *args)

    @property
    def pid(self) -> int | None:
        pid_file = self.directory / "pgdata" / "postmaster.pid"
        return int(pid_file.read_text().split()[0]) if pid_file.exists() else None

    def stop(self, mode: str = "fast") -> None:
        if self.pid is not None:
            self._pg_ctl("stop", "-m", mode, "-w")


class Redis:
    """A Redis broker on loopback that keeps its queue across restarts (append-only file)."""

    def __init__(self, directory: Path, port: int | None = None) -> None:
        self.directory = directory
        self.port = port or free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None

    def start(self) -> Redis:
        self.directory.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--dir",
                str(self.directory),
                "--appendonly",
                "yes",
                "--save",
                "",
                "--protected-mode",
                "no",
            ],
            stdout=(self.directory / "redis.log").open("ab"),
            stderr=subprocess.STDOUT,
        )
        wait_for_port(self.port, 30, self.process)
        return self

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(sig)
            self.process.wait(timeout=30)


class ServiceProcess:
    """An API replica or a worker of the cluster, with its pid file and its log."""

    def __init__(self, name: str, command: list[str], env: dict[str, str], run_dir: Path) -> None:
        self.name = name
        self.command = command
        self.env = env
        self.run_dir = run_dir
        self.log = run_dir / f"{name}.log"
        self.process: subprocess.Popen | None = None

    def start(self) -> ServiceProcess:
        self.process = subprocess.Popen(
            self.command,
            cwd=ROOT,
            env=self.env,
            stdout=self.log.open("ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        (self.run_dir / f"{self.name}.pid").write_text(f"{self.process.pid}\n")
        return self

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 90) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(sig)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=30)
        (self.run_dir / f"{self.name}.pid").unlink(missing_ok=True)


def _local_secret(data_dir: Path) -> str:
    """One webhook secret for the whole local cluster, kept beside its data."""
    import base64
    import secrets

    path = data_dir.parent / "webhook_secret"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("whsec_" + base64.b64encode(secrets.token_bytes(32)).decode())
        path.chmod(0o600)
    return path.read_text().strip()


def cluster_env(database_url: str, broker_url: str, data_dir: Path, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        SERVICE_MODE="cluster",
        DATABASE_URL=database_url,
        BROKER_URL=broker_url,
        AUDIO_STORAGE="file",
        DATA_DIR=str(data_dir),
        WEBHOOK_SECRET=os.environ.get("WEBHOOK_SECRET") or _local_secret(data_dir),
        MODEL_CACHE_DIR=str(ROOT / "var" / "models"),
        HOST="127.0.0.1",
    )
    env.update(extra)
    return env


def api(name: str, port: int, env: dict[str, str], run_dir: Path) -> ServiceProcess:
    return ServiceProcess(name, [sys.executable, "main.py"], {**env, "PORT": str(port)}, run_dir)


def worker(name: str, metrics_port: int, env: dict[str, str], run_dir: Path) -> ServiceProcess:
    return ServiceProcess(
        name,
        [sys.executable, "-m", "diarize_service.worker"],
        {**env, "WORKER_METRICS_PORT": str(metrics_port)},
        run_dir,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dir", type=Path, default=ROOT / "var" / "cluster")
    parser.add_argument("--api-ports", default="8000,8001")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    run_dir = args.dir.resolve()
    run_dir.mkdir(parents=True, exist_ok=True)
    postgres = Postgres(run_dir / "postgres", port=5433)
    redis = Redis(run_dir / "redis", port=6380)
    started: list[ServiceProcess] = []

    def stop_all(*_: object) -> None:
        print(">> stopping the cluster", flush=True)
        for process in reversed(started):
            process.stop()
        redis.stop()
        postgres.stop()
        for name in ("postgres", "redis"):
            (run_dir / f"{name}.pid").unlink(missing_ok=True)
        sys.exit(0)

    signal.signal(signal.SIGTERM, stop_all)
    signal.signal(signal.SIGINT, stop_all)
    postgres.start()
    (run_dir / "postgres.pid").write_text(f"{postgres.pid}\n")
    redis.start()
    (run_dir / "redis.pid").write_text(f"{redis.process.pid}\n")
    env = cluster_env(postgres.url, redis.url, run_dir / "data")
    ports = [int(p) for p in args.api_ports.split(",")]
    for index, port in enumerate(ports, start=1):
        started.append(api(f"api-{index}", port, env, run_dir).start())
    for index in range(1, args.workers + 1):
        started.append(worker(f"worker-{index}", 9100 + index, env, run_dir).start())
    for port in ports:
        wait_for_port(port, 180)
    print(
        f">> cluster up: API on {', '.join(f'http://127.0.0.1:{p}' for p in ports)}; "
        f"{args.workers} workers; logs and pid files in {run_dir}",
        flush=True,
    )
    while True:
        for process in started:
            if process.process is not None and process.process.poll() is not None:
                print(
                    f">> {process.name} exited ({process.process.returncode}); see {process.log}", flush=True
                )
                (run_dir / f"{process.name}.pid").unlink(missing_ok=True)
                started.remove(process)
                break
        time.sleep(1)


if __name__ == "__main__":
    main()
