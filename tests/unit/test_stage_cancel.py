"""A cancelled call kills the worker process running it, and the stage goes on with a fresh one.

A tiny initializer stands in for the models: what is tested is the process
handling of ``Stage`` (whose models cannot be interrupted from outside).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time

import psutil

from diarize_service.pipeline.stage_process import Stage


def _no_model(_config) -> None:
    pass


def _pid() -> int:
    return os.getpid()


def _busy(seconds: float) -> int:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        pass
    return os.getpid()


def test_cancelling_a_call_kills_its_process_and_the_next_call_runs_in_a_new_one():
    async def scenario() -> tuple[int, int, float]:
        stage = Stage("test", _no_model, None, _pid)
        await stage.start()
        first = stage.info
        call = asyncio.create_task(stage.call(_busy, 60.0))
        await asyncio.sleep(1.0)  # the process is spinning on the call
        cancelled_at = time.monotonic()
        call.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await call
        while psutil.pid_exists(first) and psutil.Process(first).status() != psutil.STATUS_ZOMBIE:
            assert time.monotonic() - cancelled_at < 2.0, "the cancelled call's process kept running"
            await asyncio.sleep(0.02)
        stopped_after = time.monotonic() - cancelled_at
        second = await asyncio.wait_for(stage.call(_pid), timeout=30)
        stage.shutdown()
        return first, second, stopped_after

    first, second, stopped_after = asyncio.run(scenario())
    assert first != second
    assert stopped_after < 2.0


def test_a_call_waiting_for_the_stage_is_cancelled_without_killing_the_running_one():
    async def scenario() -> tuple[int, int]:
        stage = Stage("test", _no_model, None, _pid)
        await stage.start()
        running = asyncio.create_task(stage.call(_busy, 1.5))
        await asyncio.sleep(0.2)
        waiting = asyncio.create_task(stage.call(_busy, 1.5))
        await asyncio.sleep(0.2)
        waiting.cancel()
        finished_in = await asyncio.wait_for(running, timeout=30)
        stage.shutdown()
        return stage.info, finished_in

    started_in, finished_in = asyncio.run(scenario())
    assert started_in == finished_in  # the running call finished in the process it started in


def _crash() -> None:
    os._exit(3)  # a segfault or the OOM killer, as the stage sees it


def test_a_crashed_worker_fails_its_call_and_is_restarted():
    from diarize_service.pipeline.stage_process import StageCrashedError

    async def scenario() -> tuple[int, int, str]:
        stage = Stage("test", _no_model, None, _pid)
        await stage.start()
        first = stage.info
        try:
            await asyncio.wait_for(stage.call(_crash), timeout=30)
        except StageCrashedError as exc:
            message = str(exc)
        else:
            raise AssertionError("a crash was not reported")
        second = await asyncio.wait_for(stage.call(_pid), timeout=30)
        stage.shutdown()
        return first, second, message

    first, second, message = asyncio.run(scenario())
    assert first != second and "restarted" in message
