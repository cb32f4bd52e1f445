"""Decode any upload once into the 16 kHz mono float32 array every model wants.

PyAV (FFmpeg) reads MP3, WAV (PCM, mu-law, A-law), M4A/AAC, FLAC, OGG... and
its resampler (libswresample) does the rate and channel conversion, so no model
ever decodes the file again.  Sniffing the content, not the file name, decides
what is audio: call-center exports often carry the wrong extension.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np

SAMPLE_RATE = 16_000


class AudioError(ValueError):
    """Base class for upload problems the client can fix."""

    status_code = 422
    title = "Unprocessable audio"


class UnsupportedAudioError(AudioError):
    """The file is not a container/codec FFmpeg can read as audio."""

    status_code = 415
    title = "Unsupported media type"


class EmptyAudioError(AudioError):
    """The upload holds no bytes, no audio stream, or no samples."""

    title = "No audio in upload"


class AudioTooLongError(AudioError):
    title = "Audio too long"


def _reason(exc: BaseException) -> str:
    """FFmpeg's reason without the server-side file name (which must not leak to clients)."""
    return getattr(exc, "strerror", None) or type(exc).__name__


@dataclass(frozen=True)
class AudioInfo:
    """What a quick probe learns without decoding the whole file."""

    format_name: str
    codec: str
    sample_rate: int
    channels: int
    duration: float | None  # seconds; None when the container does not say


def probe(path: Path) -> AudioInfo:
    """Check that *path* is readable audio; raise an :class:`AudioError` saying why not."""
    if path.stat().st_size == 0:
        raise EmptyAudioError("The uploaded file is empty (0 bytes).")
    try:
        with av.open(str(path), mode="r") as container:
            if not container.streams.audio:
                raise EmptyAudioError(
                    f"The file is a '{container.format.name}' container without an audio stream."
                )
            stream = container.streams.audio[0]
            duration = None
            if stream.duration is not None and stream.time_base is not None:
                duration = float(stream.duration * stream.time_base)
            elif container.duration is not None:
                duration = container.duration / av.time_base
            return AudioInfo(
                format_name=container.format.name,
                codec=stream.codec_context.name,
                sample_rate=stream.codec_context.sample_rate or 0,
                channels=stream.codec_context.channels or 0,
                duration=duration,
            )
    except AudioError:
        raise
    except (av.error.FFmpegError, UnicodeDecodeError, ValueError) as exc:
        raise UnsupportedAudioError(
            "The file is not a readable audio format (expected MP3, WAV, M4A, FLAC or similar): "
            f"{_reason(exc)}."
        ) from exc


def decode(path: Path, sample_rate: int = SAMPLE_RATE, max_seconds: float | None = None) -> np.ndarray:
    """Decode the first audio stream to mono float32 at *sample_rate*.

    Stereo is down-mixed (mean of channels), which is what diarization of a
    mixed call needs.  See :func:`decode_channels` for the errors raised.
    """
    channels = decode_channels(path, sample_rate, max_seconds)
    return channels[0] if channels.shape[0] == 1 else channels.mean(axis=0)


def decode_channels(
    path: Path, sample_rate: int = SAMPLE_RATE, max_seconds: float | None = None
) -> np.ndarray:
    """Decode to float32 ``(channels, samples)`` at *sample_rate*; channels: 1, or 2 for stereo.

    Files with more than two channels are down-mixed to stereo by FFmpeg.
    Raises :class:`AudioError` for corrupt or empty files and
    :class:`AudioTooLongError` past *max_seconds* (checked while decoding, so a
    mislabelled 10-hour file is not decoded in full first).
    """
    chunks: list[np.ndarray] = []
    total = 0
    limit = None if max_seconds is None else int(max_seconds * sample_rate)
    try:
        with av.open(str(path), mode="r") as container:
            if not container.streams.audio:
                raise EmptyAudioError("The file has no audio stream.")
            stream = container.streams.audio[0]
            layout = "stereo" if (stream.codec_context.channels or 1) >= 2 else "mono"
            resampler = av.AudioResampler(format="fltp", layout=layout, rate=sample_rate)
            for frame in container.decode(stream):
                for out in resampler.resample(frame):
                    chunk = out.to_ndarray()
                    chunks.append(chunk)
                    total += chunk.shape[1]
                if limit is not None and total > limit:
                    raise AudioTooLongError(f"The recording is longer than the limit of {max_seconds:.0f} s.")
            for out in resampler.resample(None):
                chunks.append(out.to_ndarray())
    except AudioError:
        raise
    except (av.error.FFmpegError, ValueError) as exc:
        raise UnsupportedAudioError(f"The audio could not be decoded: {_reason(exc)}.") from exc
    if not chunks:
        raise EmptyAudioError("The audio stream decodes to zero samples.")
    audio = np.concatenate(chunks, axis=1).astype(np.float32, copy=False)
    if audio.shape[1] == 0:
        raise EmptyAudioError("The audio stream decodes to zero samples.")
    return audio
