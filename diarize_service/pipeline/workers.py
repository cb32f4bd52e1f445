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
the process boundary through pickling.  A third, model-less process decodes
uploads into that file: FFmpeg never parses untrusted bytes in the API
process, and the decoder runs under an address-space limit.

Each process runs one call at a time, so the stage knows whose work is
running there: when that job is cancelled (DELETE) or times out, the process
is killed at once and a fresh one is started, and jobs waiting for the stage
go on in the new one.  Cooperative cancellation could only stop between
chunks; CTranslate2 and torch calls cannot be interrupted from outside.
"""

from __future__ import annotations

import asyncio
import os
import resource
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..models.registry import DiarizationModelSpec, WhisperModelSpec
from .language import LanguagePolicy  # issue #22
from .stage_process import Stage


@dataclass(frozen=True)
class AsrConfig:
    spec: WhisperModelSpec
    device: str
    compute_type: str
    threads: int
    batch_size: int
    download_root: str
    recheck_unwritten: bool = True
    language_policy: LanguagePolicy = LanguagePolicy()  # noqa: RUF009  (frozen) issue #22: LANGUAGES etc.


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
    from .asr.transcriber import Transcriber

    _transcriber = Transcriber(
        config.spec,
        device=config.device,
        compute_type=config.compute_type,
        cpu_threads=config.threads,
        batch_size=config.batch_size,
        download_root=config.download_root,
        recheck_unwritten=config.recheck_unwritten,
        language_policy=config.language_policy,  # issue #22
    )
    _transcriber.warm_up()


def load_diarizer(config: DiarizationConfig):
    """The :class:`Diarizer` a diarization worker runs (also used in-process by bench/)."""
    from .diarization.diarizer import Diarizer

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


# A decoder that goes wild inside FFmpeg fails its job instead of taking the machine's memory.
# It streams to disk (audio.decode_to_file), so it needs little; the limit covers the libraries.
DECODER_ADDRESS_SPACE_BYTES = 4 * 1024**3


def _init_decoder(address_space_bytes: int) -> None:
    resource.setrlimit(resource.RLIMIT_AS, (address_space_bytes, address_space_bytes))


def _describe_decoder() -> dict[str, Any]:
    return {"pid": os.getpid()}


def _decode(audio_path: str, decoded_path: str, max_seconds: float, channel_mode: str) -> tuple[float, bool]:
    """Decode an upload for the models; returns its duration and whether it is split by channel."""
    from .audio import EmptyAudioError, decode_to_file, downmix_file
    from .channels.speech import should_split

    decoded = decode_to_file(Path(audio_path), Path(decoded_path), max_seconds)
    if channel_mode == "split" and decoded.channels < 2:
        raise EmptyAudioError("channel_mode=split needs a stereo recording; this one is mono.")
    split = channel_mode == "split" or (
        channel_mode == "auto"
        and decoded.channels == 2
        and should_split(np.load(decoded_path, mmap_mode="r"))
    )
    if not split and decoded.channels == 2:
        downmix_file(Path(decoded_path))
    return decoded.duration, split


def _load(audio_path: str) -> np.ndarray:
    """The decoded call: mono ``(samples,)`` or split ``(2, samples)``, C-contiguous."""
    audio = np.load(audio_path)
    return np.ascontiguousarray(audio[0] if audio.ndim == 2 and audio.shape[0] == 1 else audio)


def _transcribe(audio_path: str, options: dict[str, Any]):
    return _transcriber(_load(audio_path), **options)


def _recheck(audio_path: str, asr, speech: list[tuple[float, float]], options: dict[str, Any]):
    """Mono calls: *asr* with the *speech* it wrote no words for decoded again (issue #22)."""
    return _transcriber.recheck(_load(audio_path), asr, speech, **options)


def _transcribe_channels(audio_path: str, options: dict[str, Any]):
    """Split-channel calls: per channel, speech regions (VAD minus leakage, music, digit pauses) and words."""
    from .channels.digit_pauses import cut_digit_pauses
    from .channels.regions import frame_levels, inside
    from .channels.speech import channel_speech, drop_unheard

    channels = _load(audio_path)
    # issue #22: the call's language from both channels' speech; a channel differs only when confident
    call, chosen = _transcriber.choose_languages(list(channels), options.get("language"))
    out = []
    for index in range(2):
        audio = np.ascontiguousarray(channels[index])
        asr = _transcriber(audio, **options, choice=chosen[index])
        asr.call_language = (call.language, call.probability)  # issue #22
        words = [w for seg in asr.segments for w in seg.words]
        regions = drop_unheard(channel_speech(channels, index), [(w.start, w.end) for w in words])
        for seg in asr.segments:
            seg.words = [w for w in seg.words if inside(w.start, w.end, regions)]
        # after the words are kept: a digit whose time drifted into a pause is still a digit said
        regions = cut_digit_pauses(regions, frame_levels(audio), words)
        out.append((asr, regions))
    return out


def _channel_voices(audio_path: str, allow_second: bool):
    """Split-channel calls: per channel, its speech regions cut by voice (runs while ASR does).

    Issue #23: with each channel's voiceprints, ``(spans, {party/second: Voiceprint})``.
    """
    from .channels.voices import channel_voices_and_prints

    channels = _load(audio_path)
    return [channel_voices_and_prints(channels, index, _diarizer, allow_second) for index in range(2)]


def _diarize(audio_path: str, options: dict[str, Any]):
    from .background import without_background  # issue #22: babble on a mono line is no one's turn

    audio = _load(audio_path)
    return without_background(_diarizer(audio, **options), audio)


def _embed_voice(audio_path: str):
    """Issue #23, enrolment from a recording: the print of the voice that talks most (None: no print)."""
    from .diarization.voiceprints import dominant_voiceprint, telephone_line

    # the prints it is compared with come from telephone calls: give the recording their channel
    return dominant_voiceprint(_diarizer(telephone_line(_load(audio_path)), voiceprints=True).voiceprints)


def _assign(asr, diarization, max_pause: float, audio_path: str):
    """Mono calls: words get speakers; ``(turns, names, timeline)``.

    The timeline is the diarizer's, with the pauses inside read-out numbers
    cut out (issue #22); the words keep the speakers the uncut turns gave them.
    Only a call with a read-out number is loaded again for its frame levels.
    """
    from .channels.digit_pauses import cut_turn_digit_pauses, digit_strings
    from .channels.regions import frame_levels
    from .output.assign import label_words
    from .output.turns import build_turns, snap_to_sentence_ends, speaker_names

    words = snap_to_sentence_ends(label_words(asr, diarization.exclusive_turns))
    turns = build_turns(words, max_pause=max_pause)
    timeline = diarization.turns
    if digit_strings(words):
        timeline = cut_turn_digit_pauses(timeline, frame_levels(_load(audio_path)), words)
    return turns, speaker_names(turns, diarization.turns), timeline


class StageWorkers:
    """The ASR and diarization worker processes, started once per API process."""

    def __init__(self, asr: AsrConfig, diarization: DiarizationConfig) -> None:
        self.decoder = Stage("decoder", _init_decoder, DECODER_ADDRESS_SPACE_BYTES, _describe_decoder)
        self.asr = Stage("ASR", _init_asr, asr, _describe_asr)
        self.diarization = Stage("diarization", _init_diarization, diarization, _describe_diarization)
        self.ready = False

    @property
    def stages(self) -> tuple[Stage, Stage, Stage]:
        return self.decoder, self.asr, self.diarization

    async def start(self) -> None:
        """Spawn the workers and wait until each has loaded its model."""
        await asyncio.gather(*(stage.start() for stage in self.stages))
        self.ready = True

    async def decode(self, audio_path: Path, decoded_path: Path, max_seconds: float, channel_mode: str):
        """Decode the upload into *decoded_path* (see :func:`_decode`): ``(duration, split)``."""
        return await self.decoder.call(_decode, str(audio_path), str(decoded_path), max_seconds, channel_mode)

    async def transcribe(self, audio_path: Path, **options):
        return await self.asr.call(_transcribe, str(audio_path), options)

    async def recheck(self, audio_path: Path, asr, speech: list[tuple[float, float]], **options):
        return await self.asr.call(_recheck, str(audio_path), asr, speech, options)

    async def transcribe_channels(self, audio_path: Path, **options):
        return await self.asr.call(_transcribe_channels, str(audio_path), options)

    async def channel_voices(self, audio_path: Path, allow_second: bool):
        return await self.diarization.call(_channel_voices, str(audio_path), allow_second)

    async def diarize(self, audio_path: Path, **options):
        return await self.diarization.call(_diarize, str(audio_path), options)

    async def embed_voice(self, audio_path: Path):
        """Issue #23: the voiceprint of the voice that talks most in a decoded recording, or None."""
        return await self.diarization.call(_embed_voice, str(audio_path))

    async def assign(self, asr, diarization, max_pause: float, audio_path: Path):
        # Runs beside the diarizer: that process already imported torch/pyannote/whisperx.
        return await self.diarization.call(_assign, asr, diarization, max_pause, str(audio_path))

    def shutdown(self) -> None:
        self.ready = False
        for stage in self.stages:
            stage.shutdown()
