"""Run one call through the stages: decode -> (ASR || diarization) -> assign -> result.

The :class:`Processor` protocol is the seam between the job runner and the
models: the runner knows nothing of audio, and tests can plug in a fake.
Progress is reported at stage boundaries with fixed weights that roughly match
measured stage costs on CPU (diarization dominates).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from ..jobs.models import JobOptions
from .audio import SAMPLE_RATE, decode
from .redaction import redact_turns
from .result import build_result
from .workers import StageWorkers

ProgressCallback = Callable[[float, str], None]

# Cumulative progress after each stage.
PROGRESS = {"decoded": 0.10, "transcribed": 0.35, "diarized": 0.80, "assigned": 0.95}


class Processor(Protocol):
    async def process(
        self, audio_path: Path, decoded_path: Path, options: JobOptions, report: ProgressCallback
    ) -> dict[str, Any]: ...


class CallProcessor:
    """The real pipeline over the stage worker processes."""

    def __init__(self, workers: StageWorkers, max_audio_seconds: float, max_pause: float = 1.5) -> None:
        self.workers = workers
        self.max_audio_seconds = max_audio_seconds
        self.max_pause = max_pause

    async def process(
        self, audio_path: Path, decoded_path: Path, options: JobOptions, report: ProgressCallback
    ) -> dict[str, Any]:
        started = time.perf_counter()
        timings: dict[str, float] = {}

        t = time.perf_counter()
        audio = await asyncio.to_thread(decode, audio_path, SAMPLE_RATE, self.max_audio_seconds)
        await asyncio.to_thread(np.save, decoded_path, audio)
        duration = audio.size / SAMPLE_RATE
        del audio
        timings["decode"] = time.perf_counter() - t
        report(PROGRESS["decoded"], "decoded")

        done = {"n": 0}

        async def timed(name: str, coro):
            t0 = time.perf_counter()
            out = await coro
            timings[name] = time.perf_counter() - t0
            done["n"] += 1
            # Stages run in parallel: progress follows how many finished, weighted.
            report(PROGRESS["transcribed"] if done["n"] == 1 else PROGRESS["diarized"], f"{name} done")
            return out

        asr, diarization = await asyncio.gather(
            timed(
                "asr",
                self.workers.transcribe(
                    decoded_path,
                    language=options.language,
                    initial_prompt=options.initial_prompt,
                    hotwords=options.hotwords,
                ),
            ),
            timed(
                "diarization",
                self.workers.diarize(
                    decoded_path,
                    num_speakers=options.num_speakers,
                    min_speakers=options.min_speakers,
                    max_speakers=options.max_speakers,
                ),
            ),
        )

        for step, seconds in diarization.timings.items():
            timings[f"diarization.{step}"] = seconds
        t = time.perf_counter()
        turns, names = await self.workers.assign(asr, diarization, self.max_pause)
        if options.redact_pii:
            # before build_result: the unredacted words are never stored anywhere
            turns = redact_turns(turns)
        timings["assign"] = time.perf_counter() - t
        report(PROGRESS["assigned"], "assigned")

        return build_result(
            asr=asr,
            turns=turns,
            names=names,
            diarization=diarization.turns,
            audio_duration=duration,
            processing_time=time.perf_counter() - started,
            models={
                "asr": self.workers.asr.info.get("model", "?"),
                "diarization": self.workers.diarization.info.get("model", "?"),
            },
            stage_seconds=timings,
        )
