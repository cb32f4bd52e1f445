"""One model worker process: a single-process pool that runs one call at a time.

Why a pool of one and not a long-lived ``multiprocessing.Process`` with
queues: ``ProcessPoolExecutor`` already turns a dead worker into
``BrokenProcessPool`` and a call into an awaitable future.  What it lacks is
stopping the work of one call (CTranslate2 and torch cannot be interrupted
from outside), so a cancelled call kills the process and a fresh pool takes
its place (:meth:`Stage.call`), and tying the workers' lives to the API
process (:func:`_exit_with_parent`).
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import os
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any


class StageCrashedError(RuntimeError):
    """A model worker process died while processing (it has been restarted)."""


PARENT_CHECK_SECONDS = 1.0


def _start_worker(initializer, config, parent_pid: int) -> None:
    """Worker entry point: tie the worker's life to the API process, then load the model."""
    threading.Thread(target=_exit_with_parent, args=(parent_pid,), name="parent-watch", daemon=True).start()
    initializer(config)


def _exit_with_parent(parent_pid: int) -> None:
    """Exit once the API process is gone.

    An API process killed outright (``kill -9``, the OOM killer) cannot shut its
    pools down, and its workers never notice on their own: each holds both ends
    of its task queue's pipe.  Left alone they keep their models (1.5 GB a pair)
    and the restarted service loads another pair beside them.
    """
    while os.getppid() == parent_pid:
        time.sleep(PARENT_CHECK_SECONDS)
    os._exit(1)


class Stage:
    """A single-process pool that runs one call at a time and is replaced when it dies or is stopped."""

    def __init__(self, name: str, initializer, config, describe) -> None:
        self.name = name
        self._initializer = initializer
        self.config = config
        self._describe = describe
        self._pool: ProcessPoolExecutor | None = None
        self._lock = asyncio.Lock()
        self.info: dict[str, Any] = {}
        self.restarts = 0

    def _new_pool(self) -> ProcessPoolExecutor:
        pool = ProcessPoolExecutor(
            max_workers=1,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_start_worker,
            initargs=(self._initializer, self.config, os.getpid()),
        )
        pool.submit(os.getpid)  # start the process (and load its model) now, not at the next job
        return pool

    async def start(self) -> None:
        self._pool = self._new_pool()
        self.info = await self.call(self._describe)

    @property
    def pids(self) -> list[int]:
        """The worker process's pid (for tests and metrics); empty while none runs."""
        processes = getattr(self._pool, "_processes", None) or {}
        return [p.pid for p in list(processes.values()) if p.is_alive()]

    async def call(self, fn, *args):
        assert self._pool is not None, f"{self.name} worker not started"
        loop = asyncio.get_running_loop()
        async with self._lock:  # one call in the process at a time: the one running is this one
            try:
                return await loop.run_in_executor(self._pool, fn, *args)
            except asyncio.CancelledError:
                # DELETE or a timeout: the work in the process is this job's and nobody's else.
                self._restart(kill=True)
                raise
            except BrokenProcessPool as exc:
                self._restart(kill=False)
                raise StageCrashedError(
                    f"The {self.name} worker process died while processing this job (it was restarted)."
                ) from exc

    def _restart(self, kill: bool) -> None:
        """Replace the worker process; with *kill*, stop the running one first (SIGKILL)."""
        old = self._pool
        if old is not None:
            if kill:
                for process in list((getattr(old, "_processes", None) or {}).values()):
                    with contextlib.suppress(OSError):
                        process.kill()
            old.shutdown(wait=False, cancel_futures=True)
        self.restarts += 1
        self._pool = self._new_pool()

    def shutdown(self) -> None:
        """Stop the worker process now: a replacement may still be loading its model, which
        nobody needs any more (waiting for it held SIGTERM up past the shutdown grace)."""
        if self._pool is not None:
            for process in list((getattr(self._pool, "_processes", None) or {}).values()):
                with contextlib.suppress(OSError):
                    process.terminate()
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
