"""Make test inputs from real recordings: other formats, corrupt and non-audio files."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import soundfile as sf

from diarize_service.pipeline.audio import decode

FORMATS = {  # file name ending -> (container format, codec)
    "mp3": ("mp3", "libmp3lame"),
    "m4a": ("ipod", "aac"),
    "flac": ("flac", "flac"),
    "wav": ("wav", "pcm_s16le"),
    # what call recorders write: G.711 in WAV (Avaya, Genesys...), GSM 6.10 in WAV (Asterisk's
    # "wav49"), Opus (WebRTC softphones), AMR-NB (mobile call recorders)
    "ulaw.wav": ("wav", "pcm_mulaw"),
    "alaw.wav": ("wav", "pcm_alaw"),
    "gsm.wav": ("wav", "gsm610"),
    "opus": ("ogg", "libopus"),
    "amr": ("amr", "libopencore_amrnb"),
}
TELEPHONY_FORMATS = ["ulaw.wav", "alaw.wav", "gsm.wav", "opus", "amr"]


def encode(source: Path, target: Path, sample_rate: int | None = None, channels: int = 1) -> Path:
    """Re-encode *source* into *target*'s format (by its name's ending, e.g. ``call.ulaw.wav``), with PyAV.

    GSM 6.10 is written with libsndfile: PyAV's FFmpeg decodes it but has no encoder.
    """
    container_format, codec = FORMATS[target.name.split(".", 1)[1]]
    rate = sample_rate or 16_000
    if codec == "libopus":
        rate = 48_000  # Opus encodes at 48 kHz whatever the source; the decoder resamples
    if codec == "gsm610":  # 8 kHz mono only
        sf.write(target, decode(source, sample_rate=8_000), 8_000, format="WAV", subtype="GSM610")
        return target
    audio = decode(source, sample_rate=rate)
    audio = np.stack([audio, audio * 0.5]) if channels == 2 else audio[None]
    layout = "stereo" if channels == 2 else "mono"
    with av.open(str(target), mode="w", format=container_format) as out:
        stream = out.add_stream(codec, rate=rate, layout=layout)
        fmt = stream.codec_context.codec.audio_formats[0].name
        frame_size = stream.codec_context.frame_size or 1024
        resampler = av.AudioResampler(format=fmt, layout=layout, rate=rate)
        for start in range(0, audio.shape[1], frame_size):
            chunk = np.ascontiguousarray(audio[:, start : start + frame_size], dtype=np.float32)
            frame = av.AudioFrame.from_ndarray(
                chunk.reshape(1, -1) if channels == 1 else chunk.T.reshape(1, -1), format="flt", layout=layout
            )
            frame.sample_rate = rate
            frame.pts = start
            frame.time_base = Fraction(1, rate)
            for resampled in resampler.resample(frame):
                for packet in stream.encode(resampled):
                    out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return target


def video_without_audio(target: Path) -> Path:
    """A real MP4 file that holds only a (tiny) video stream."""
    with av.open(str(target), mode="w") as out:
        stream = out.add_stream("mpeg4", rate=5)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        for i in range(5):
            frame = av.VideoFrame.from_ndarray(np.full((48, 64, 3), i * 40, dtype=np.uint8), format="rgb24")
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return target


def corrupt_copy(source: Path, target: Path, header_bytes: int = 64) -> Path:
    """Keep the first *header_bytes* (a valid-looking header) and replace the rest with noise."""
    data = source.read_bytes()
    rng = np.random.default_rng(0)
    target.write_bytes(data[:header_bytes] + rng.integers(0, 256, size=4096, dtype=np.uint8).tobytes())
    return target


def hold_music(seconds: float, sample_rate: int = 16_000, seed: int = 0) -> np.ndarray:
    """A synthetic hold-music melody (no music recording ships in ../shared): random notes of a
    C-major scale, four per second, five harmonics each, decaying like plucked strings; peak 1."""
    rng = np.random.default_rng(seed)
    note = np.arange(sample_rate // 4) / sample_rate
    notes = [
        sum(np.sin(2 * np.pi * f * k * note) / k for k in range(1, 6)) * np.exp(-3 * note)
        for f in rng.choice([262, 294, 330, 349, 392, 440, 494, 523], int(seconds * 4))
    ]
    melody = np.concatenate(notes)
    return melody / np.abs(melody).max()
