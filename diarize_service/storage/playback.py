"""The compressed playback copy of a call, for the web console's player (``KEEP_PLAYBACK_COPY``).

By default no call audio outlives its job (POPIA).  When an operator opts in,
the runner keeps a small Ogg/Opus copy beside the result so that QA analysts
can listen while they review; it lives in the job's directory, so
``AudioStore.delete`` (DELETE /jobs/{id}, result expiry) erases it with the
result.

The copy is encoded from the *decoded* float32 audio the pipeline already
made, never from the raw upload: that file is trusted PCM whose shape we
know, so no untrusted container is demuxed again.  It is read through a
memory map and encoded chunk by chunk, so an hour-long call needs no more
memory than a short one.  Split stereo stays stereo, each party on its side,
which is how a reviewer tells agent from customer by ear.
"""

from __future__ import annotations

import os
from pathlib import Path

import av
import numpy as np
import structlog

from ..pipeline.audio import SAMPLE_RATE

log = structlog.get_logger(__name__)

BIT_RATE = 24_000  # Opus speech at 24 kbit/s: about 11 MB per hour, clear enough to judge a call by
CHUNK_SAMPLES = 10 * SAMPLE_RATE


def _as_channels(decoded: np.ndarray) -> np.ndarray:
    """``(channels, samples)`` view of what ``decode_to_file`` / ``downmix_file`` wrote.

    Mono after a down-mix is ``(samples,)``; otherwise ``(1, samples)`` or,
    for split calls, ``(2, samples)``.
    """
    if decoded.ndim == 1:
        return decoded[None, :]
    if decoded.ndim == 2 and decoded.shape[0] in (1, 2):
        return decoded
    raise ValueError(f"unexpected decoded audio shape {decoded.shape}")


def write_playback_copy(decoded_npy: Path, target: Path) -> None:
    """Encode the decoded call *decoded_npy* to Ogg/Opus at *target* (owner-only, replaced atomically).

    Written to a temporary name first: a copy cut short (a crash, the job
    deleted while encoding) never looks like a complete one, and if the job's
    directory is removed meanwhile the final rename fails instead of leaving
    audio behind.
    """
    audio = _as_channels(np.load(decoded_npy, mmap_mode="r"))
    channels, samples = audio.shape
    partial = target.with_name(target.name + ".part")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.close(fd)  # created owner-only; FFmpeg opens it again (truncating) and keeps the mode
    try:
        with av.open(str(partial), mode="w", format="ogg") as container:
            stream = container.add_stream(
                "libopus", rate=SAMPLE_RATE, layout="stereo" if channels == 2 else "mono"
            )
            stream.bit_rate = BIT_RATE
            stream.codec_context.options = {"application": "voip"}
            for start in range(0, samples, CHUNK_SAMPLES):
                block = np.clip(audio[:, start : start + CHUNK_SAMPLES], -1.0, 1.0)
                interleaved = np.ascontiguousarray(block.T, dtype=np.float32).reshape(1, -1)
                frame = av.AudioFrame.from_ndarray(
                    interleaved, format="flt", layout="stereo" if channels == 2 else "mono"
                )
                frame.sample_rate = SAMPLE_RATE
                frame.pts = start
                for packet in stream.encode(frame):
                    container.mux(packet)
            for packet in stream.encode(None):
                container.mux(packet)
        os.replace(partial, target)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise


def keep_playback_copy(decoded_npy: Path, target: Path) -> bool:
    """:func:`write_playback_copy` for the runner: a failure costs the player, never the job.

    Returns whether the copy was written.  Nothing is written when the decoded
    audio is gone (a job that failed before decoding).
    """
    if not decoded_npy.exists():
        return False
    try:
        write_playback_copy(decoded_npy, target)
    except Exception:
        log.warning("playback copy not written", exc_info=True)
        return False
    return True
