"""Stage worker processes: one for ASR (CTranslate2), one for diarization (torch).

Why separate processes: CTranslate2 and torch each keep their own OpenMP thread
pool; in one process they contend (diarization measured ~1.5x slower once ASR
had run there).  Giving each engine its own process removes that contention,
lets ASR and diarization of the same call run *at the same time* (they only
share the decoded audio), and pipelines stages across jobs: while job A is
being diarized, job B can already be transcribed.  A crash (segfault, OOM
kill) in a model takes down only its worker; the pool is rebuilt and the job
fails with a clear reason instead of killing the API.

Each worker loads its model once, in the pool initializer.  The functions run
in the worker read the decoded audio from a ``.npy`` file, so no audio crosses
the process boundary through pickling.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..models.registry import DiarizationModelSpec, WhisperModelSpec


class StageCrashedError(RuntimeError):
    """A model worker process died while processing (it has been restarted)."""


@dataclass(frozen=True)
class AsrConfig:
    spec: WhisperModelSpec
    device: str
    compute_type: str
    threads: int
    batch_size: int
    download_root: str
    recheck_unwritten: bool = True


@dataclass(frozen=True)
class DiarizationConfig:
    spec: DiarizationModelSpec
    device: str
    threads: int
    token: str | None
    embedding_batch_size: int
    segmentation_step: float
    clustering_threshold: float
    clustering_merge_threshold: float
    embedding_mode: str
    segmentation_runtime: str = "torch"
    embedding_runtime: str = "torch"
    segmentation_precision: str = "fp32"
    turn_reassignment: bool = True
    cache_dir: str | None = None  # where the ONNX exports (segmentation, CAM++ trunk) are kept


# Process-local model handles, set by the pool initializers (one model per worker process).
_transcriber: Any = None
_diarizer: Any = None


def _init_asr(config: AsrConfig) -> None:
    global _transcriber
    from .asr import Transcriber

    _transcriber = Transcriber(
        config.spec,
        device=config.device,
        compute_type=config.compute_type,
        cpu_threads=config.threads,
        batch_size=config.batch_size,
        download_root=config.download_root,
        recheck_unwritten=config.recheck_unwritten,
    )
    _transcriber.warm_up()


def load_diarizer(config: DiarizationConfig):
    """The :class:`Diarizer` a diarization worker runs (also used in-process by bench/)."""
    from .diarization import Diarizer

    return Diarizer(
        config.spec,
        device=config.device,
        token=config.token,
        embedding_batch_size=config.embedding_batch_size,
        segmentation_step=config.segmentation_step,
        clustering_threshold=config.clustering_threshold,
        merge_threshold=config.clustering_merge_threshold,
        embedding_mode=config.embedding_mode,
        segmentation_runtime=config.segmentation_runtime,
        embedding_runtime=config.embedding_runtime,
        segmentation_precision=config.segmentation_precision,
        turn_reassignment=config.turn_reassignment,
        cache_dir=Path(config.cache_dir) if config.cache_dir else None,
        threads=config.threads,
    )


def _init_diarization(config: DiarizationConfig) -> None:
    global _diarizer
    import torch

    torch.set_num_threads(config.threads)
    _diarizer = load_diarizer(config)
    _diarizer.warm_up()


def _describe_asr() -> dict[str, Any]:
    return {"model": _transcriber.spec.name, "multilingual": _transcriber.multilingual, "pid": os.getpid()}


def _describe_diarization() -> dict[str, Any]:
    return {"model": _diarizer.name, "pid": os.getpid()}


def _transcribe(audio_path: str, options: dict[str, Any]):
    return _transcriber(np.load(audio_path), **options)


def _transcribe_channels(audio_path: str, options: dict[str, Any]):
    """Split-channel calls: per channel, speech regions (VAD minus leakage, music, digit pauses) and words."""
    from .channels import channel_speech, cut_digit_pauses, drop_unheard, frame_levels, inside

    channels = np.load(audio_path)
    out = []
    for index in range(2):
        audio = np.ascontiguousarray(channels[index])
        asr = _transcriber(audio, **options)
        words = [w for seg in asr.segments for w in seg.words]
        regions = drop_unheard(channel_speech(channels, index), [(w.start, w.end) for w in words])
        for seg in asr.segments:
            seg.words = [w for w in seg.words if inside(w.start, w.end, regions)]
        # after the words are kept: a digit whose time drifted into a pause is still a digit said
        regions = cut_digit_pauses(regions, frame_levels(audio), words)
        out.append((asr, regions))
    return out


def _channel_voices(audio_path: str, allow_second: bool):
    """Split-channel calls: per channel, its speech regions cut by voice (runs while ASR does)."""
    from .channel_voices import channel_voices

    channels = np.load(audio_path)
    return [channel_voices(channels, index, _diarizer, allow_second) for index in range(2)]


def _diarize(audio_path: str, options: dict[str, Any]):
    return _diarizer(np.load(audio_path), **options)


def _assign(asr, diarization, max_pause: float):
    from .assign import label_words
    from .turns import build_turns, snap_to_sentence_ends, speaker_names

    words = snap_to_sentence_ends(label_words(asr, diarization.exclusive_turns))
    turns = build_turns(words, max_pause=max_pause)
    return turns, speaker_names(turns, diarization.turns)


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


class _Stage:
    """A single-process pool that reloads its model if the process dies."""

    def __init__(self, name: str, initializer, config) -> None:
        self.name = name
        self._initializer = initializer
        self.config = config
        self._pool: ProcessPoolExecutor | None = None
        self.info: dict[str, Any] = {}

    def _new_pool(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            max_workers=1,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_start_worker,
            initargs=(self._initializer, self.config, os.getpid()),
        )

    async def start(self, describe) -> None:
        self._pool = self._new_pool()
        self.info = await self.call(describe)

    async def call(self, fn, *args):
        assert self._pool is not None, f"{self.name} worker not started"
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._pool, fn, *args)
        except BrokenProcessPool as exc:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = self._new_pool()
            raise StageCrashedError(
                f"The {self.name} worker process died while processing this job (it was restarted)."
            ) from exc

    def shutdown(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


class StageWorkers:
    """The ASR and diarization worker processes, started once per API process."""

    def __init__(self, asr: AsrConfig, diarization: DiarizationConfig) -> None:
        self.asr = _Stage("ASR", _init_asr, asr)
        self.diarization = _Stage("diarization", _init_diarization, diarization)
        self.ready = False

    async def start(self) -> None:
        """Spawn both workers and wait until each has loaded its model."""
        await asyncio.gather(self.asr.start(_describe_asr), self.diarization.start(_describe_diarization))
        self.ready = True

    async def transcribe(self, audio_path: Path, **options):
        return await self.asr.call(_transcribe, str(audio_path), options)

    async def transcribe_channels(self, audio_path: Path, **options):
        return await self.asr.call(_transcribe_channels, str(audio_path), options)

    async def channel_voices(self, audio_path: Path, allow_second: bool):
        return await self.diarization.call(_channel_voices, str(audio_path), allow_second)

    async def diarize(self, audio_path: Path, **options):
        return await self.diarization.call(_diarize, str(audio_path), options)

    async def assign(self, asr, diarization, max_pause: float):
        # Runs beside the diarizer: that process already imported torch/pyannote/whisperx.
        return await self.diarization.call(_assign, asr, diarization, max_pause)

    def shutdown(self) -> None:
        self.ready = False
        self.asr.shutdown()
        self.diarization.shutdown()
