"""Decode any upload once into the 16 kHz mono float32 array every model wants.

PyAV (FFmpeg) reads MP3, WAV (PCM, mu-law, A-law), M4A/AAC, FLAC, OGG... and
its resampler (libswresample) does the rate and channel conversion, so no model
ever decodes the file again.  Sniffing the content, not the file name, decides
what is audio: call-center exports often carry the wrong extension.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
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


# Demuxers a call recording can need (names as FFmpeg's demuxers call themselves).  Anything
# else -- playlists (ffconcat, HLS), image or subtitle formats, network protocols -- is refused
# before FFmpeg opens it: a 33-byte ffconcat file that lists itself otherwise opens itself until
# the process runs out of file descriptors.
ALLOWED_FORMATS = "wav,w64,mp3,flac,ogg,mov,aac,amr,amrnb,amrwb,matroska,aiff,au,caf,asf,gsm,wv,g722,g729"
_OPEN_OPTIONS = {"format_whitelist": ALLOWED_FORMATS, "protocol_whitelist": "file"}
# What a recording can plausibly declare.  8 kHz telephony and 48 kHz Opus sit well inside; a WAV
# header that declares 1 Hz (hours of "audio" from a few KB) or 200 MHz is refused at the probe.
MIN_SAMPLE_RATE, MAX_SAMPLE_RATE = 4_000, 192_000
MAX_CHANNELS = 8
# Decoded audio allowed per uploaded byte: a lying header or a pathological stream must not turn a
# small upload into hours of decoded audio.  The most compact speech codecs (AMR-NB 4.75 kbit/s,
# Opus 6 kbit/s) need 600-750 bytes per second of speech, DTX silence about 40; 16 bytes a second
# leaves real recordings a wide margin.  The first minute is always allowed.
MIN_BYTES_PER_SECOND = 16
FREE_SECONDS = 60.0


def open_audio(path: Path) -> av.container.InputContainer:
    """Open *path* with only the allowed demuxers and the ``file`` protocol."""
    return av.open(str(path), mode="r", options=_OPEN_OPTIONS)


def plausible_seconds(size_bytes: int) -> float:
    """The most audio an upload of *size_bytes* may decode to (see MIN_BYTES_PER_SECOND)."""
    return FREE_SECONDS + size_bytes / MIN_BYTES_PER_SECOND


def probe(path: Path) -> AudioInfo:
    """Check that *path* is readable audio; raise an :class:`AudioError` saying why not.

    Only headers are read: the format must be an allowed one, and the declared
    sample rate and channel count must be ones a recording can have.
    """
    size = path.stat().st_size
    if size == 0:
        raise EmptyAudioError("The uploaded file is empty (0 bytes).")
    try:
        with open_audio(path) as container:
            if not container.streams.audio:
                raise EmptyAudioError(
                    f"The file is a '{container.format.name}' container without an audio stream."
                )
            stream = container.streams.audio[0]
            rate = stream.codec_context.sample_rate or 0
            channels = stream.codec_context.channels or 0
            if not MIN_SAMPLE_RATE <= rate <= MAX_SAMPLE_RATE:
                raise UnsupportedAudioError(
                    f"The audio declares a sample rate of {rate} Hz; "
                    f"{MIN_SAMPLE_RATE}-{MAX_SAMPLE_RATE} Hz is supported."
                )
            if not 1 <= channels <= MAX_CHANNELS:
                raise UnsupportedAudioError(
                    f"The audio declares {channels} channels; 1-{MAX_CHANNELS} are supported."
                )
            duration = None
            if stream.duration is not None and stream.time_base is not None:
                duration = float(stream.duration * stream.time_base)
            elif container.duration is not None:
                duration = container.duration / av.time_base
            if duration is not None and duration > plausible_seconds(size):
                duration = None  # the header lies about the length: the decoder will measure it
            return AudioInfo(
                format_name=container.format.name,
                codec=stream.codec_context.name,
                sample_rate=rate,
                channels=channels,
                duration=duration,
            )
    except AudioError:
        raise
    except (av.error.FFmpegError, UnicodeDecodeError, ValueError, OSError) as exc:
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
    mislabelled 10-hour file is not decoded in full first).  For tests and
    bench/: the service decodes with :func:`decode_to_file` in a worker process.
    """
    chunks = list(_decoded_chunks(path, sample_rate, max_seconds))
    audio = np.concatenate(chunks, axis=1).astype(np.float32, copy=False)
    if audio.shape[1] == 0:
        raise EmptyAudioError("The audio stream decodes to zero samples.")
    return audio


def _decoded_chunks(path: Path, sample_rate: int, max_seconds: float | None) -> Iterator[np.ndarray]:
    """Decoded float32 ``(channels, n)`` chunks, stopping with an error past the length limits.

    Two limits apply while decoding: *max_seconds*, and what the file's size
    makes plausible (:func:`plausible_seconds`), so neither a lying header nor
    a pathological stream can make more audio than the upload could hold.
    """
    limit_seconds = plausible_seconds(path.stat().st_size)
    too_long = AudioError("The file decodes to far more audio than its size can hold; it is corrupt.")
    if max_seconds is not None and max_seconds < limit_seconds:
        limit_seconds = max_seconds
        too_long = AudioTooLongError(f"The recording is longer than the limit of {max_seconds:.0f} s.")
    limit = int(limit_seconds * sample_rate)
    total = 0
    try:
        with open_audio(path) as container:
            if not container.streams.audio:
                raise EmptyAudioError("The file has no audio stream.")
            stream = container.streams.audio[0]
            layout = "stereo" if (stream.codec_context.channels or 1) >= 2 else "mono"
            resampler = av.AudioResampler(format="fltp", layout=layout, rate=sample_rate)
            for frame in container.decode(stream):
                if not MIN_SAMPLE_RATE <= (frame.sample_rate or 0) <= MAX_SAMPLE_RATE:
                    raise UnsupportedAudioError(
                        f"A frame of the audio has a sample rate of {frame.sample_rate} Hz."
                    )
                for out in resampler.resample(frame):
                    chunk = out.to_ndarray()
                    total += chunk.shape[1]
                    yield chunk
                if total > limit:
                    raise too_long
            for out in resampler.resample(None):
                chunk = out.to_ndarray()
                total += chunk.shape[1]
                yield chunk
    except AudioError:
        raise
    except (av.error.FFmpegError, ValueError, OSError) as exc:
        raise UnsupportedAudioError(f"The audio could not be decoded: {_reason(exc)}.") from exc
    if total == 0:
        raise EmptyAudioError("The audio stream decodes to zero samples.")


@dataclass(frozen=True)
class DecodedAudio:
    """What :func:`decode_to_file` wrote: ``(channels, samples)`` float32 at SAMPLE_RATE."""

    channels: int
    samples: int

    @property
    def duration(self) -> float:
        return self.samples / SAMPLE_RATE


_NPY_HEADER_BYTES = 128  # magic, version, length and the header dict, padded (the format allows any)


def decode_to_file(path: Path, target: Path, max_seconds: float | None = None) -> DecodedAudio:
    """Decode *path* into the ``.npy`` file *target* chunk by chunk, in bounded memory.

    The models read the file with ``np.load``; it holds ``(channels, samples)``
    in Fortran order, which is the interleaved sample order the decoder
    produces, so every chunk is appended as it comes and the header (whose
    shape is known only at the end) is written last into reserved space.  The
    file is owner-only: it is the call's audio (POPIA).
    """
    channels = 0
    samples = 0
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as out:
            out.seek(_NPY_HEADER_BYTES)
            for chunk in _decoded_chunks(path, SAMPLE_RATE, max_seconds):
                channels = chunk.shape[0]
                samples += chunk.shape[1]
                out.write(np.asarray(chunk, dtype="<f4").T.tobytes())
            out.seek(0)
            out.write(_npy_header(channels, samples))
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    return DecodedAudio(channels, samples)


def _npy_header(channels: int, samples: int) -> bytes:
    """A version 1.0 ``.npy`` header of exactly _NPY_HEADER_BYTES for a Fortran-order float32 array."""
    fields = f"{{'descr': '<f4', 'fortran_order': True, 'shape': ({channels}, {samples}), }}"
    prefix = b"\x93NUMPY\x01\x00" + (_NPY_HEADER_BYTES - 10).to_bytes(2, "little")
    return prefix + fields.ljust(_NPY_HEADER_BYTES - 11).encode("latin1") + b"\n"


def downmix_file(path: Path, chunk_samples: int = 30 * SAMPLE_RATE) -> None:
    """Replace a stereo ``.npy`` written by :func:`decode_to_file` with its mono mix, chunk by chunk."""
    stereo = np.load(path, mmap_mode="r")
    partial = path.with_suffix(".mono.npy")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.close(fd)  # created owner-only; open_memmap truncates it and keeps those permissions
    try:
        mono = np.lib.format.open_memmap(partial, mode="w+", dtype=np.float32, shape=(stereo.shape[1],))
        for start in range(0, stereo.shape[1], chunk_samples):
            mono[start : start + chunk_samples] = stereo[:, start : start + chunk_samples].mean(axis=0)
        mono.flush()
        del mono, stereo
        os.replace(partial, path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise


def evenly_sampled(channel: np.ndarray, blocks: int = 120, block: int = 10 * SAMPLE_RATE) -> np.ndarray:
    """The channel itself up to ``blocks * block`` samples (20 min); beyond, evenly spaced blocks of it.

    Bounds the memory and time of whole-call statistics on hours-long
    recordings (read from the decoded file on disk), while calls of up to 20
    minutes are judged on every sample.
    """
    if channel.shape[0] <= blocks * block:
        return channel
    starts = np.linspace(0, channel.shape[0] - block, blocks).astype(int)
    return np.concatenate([channel[s : s + block] for s in starts])
