"""Hostile inputs, built byte by byte: what an attacker or a broken recorder sends.

Each builder returns bytes (or writes a file) that reproduce one probe of the
hardening review; the probes themselves live in the tests beside this file.
"""

from __future__ import annotations

import io
import struct
import zipfile
from pathlib import Path

import numpy as np
import soundfile as sf


def wav_declaring(sample_rate: int, data_bytes: int = 28_000, channels: int = 1) -> bytes:
    """A PCM WAV whose header declares *sample_rate* (1 Hz: hours of 'audio' from a few KB)."""
    block = 2 * channels
    header = b"RIFF" + struct.pack("<I", 36 + data_bytes) + b"WAVE"
    header += b"fmt " + struct.pack("<IHHIIHH", 16, 1, channels, sample_rate, sample_rate * block, block, 16)
    header += b"data" + struct.pack("<I", data_bytes)
    rng = np.random.default_rng(0)
    return header + rng.integers(-3000, 3000, data_bytes // 2, dtype=np.int16).tobytes()


def self_referencing_ffconcat() -> bytes:
    """An ffconcat playlist that lists itself: FFmpeg would open it again and again."""
    return b"ffconcat version 1.0\nfile upload\n"


def flac_with_lying_streaminfo(seconds: float = 2.0, rate: int = 16_000) -> bytes:
    """A real FLAC of *seconds* whose STREAMINFO claims the largest length it can (about 50 days)."""
    t = np.arange(int(seconds * rate)) / rate
    buffer = io.BytesIO()
    sf.write(buffer, 0.3 * np.sin(2 * np.pi * 220 * t), rate, format="FLAC")
    data = bytearray(buffer.getvalue())
    assert data[:4] == b"fLaC" and data[4] & 0x7F == 0  # STREAMINFO is the first block
    info = 8  # 4 bytes magic + 4 bytes block header
    # bytes 10..17 of STREAMINFO: rate (20 bits), channels-1 (3), bits-1 (5), total samples (36)
    packed = int.from_bytes(data[info + 10 : info + 18], "big")
    packed |= (1 << 36) - 1
    data[info + 10 : info + 18] = packed.to_bytes(8, "big")
    return bytes(data)


def zip_of_zeros(members: int, member_bytes: int) -> bytes:
    """A small zip that unpacks to *members* files of *member_bytes* zero bytes each."""
    buffer = io.BytesIO()
    chunk = b"\0" * (1024 * 1024)
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for index in range(members):
            with archive.open(f"zeros{index}.wav", "w", force_zip64=True) as member:
                for _ in range(member_bytes // len(chunk)):
                    member.write(chunk)
    return buffer.getvalue()


def zip_of_files(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def zip_with_many_empty_members(count: int) -> bytes:
    """A zip of *count* empty stored members, written directly (zipfile is too slow for a million)."""
    local, central = [], []
    offset = 0
    for index in range(count):
        name = b"%08d" % index
        header = struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 0, 0, 0, 0, 0, 0, len(name), 0) + name
        central.append(
            struct.pack(
                "<IHHHHHHIIIHHHHHII",
                *(0x02014B50, 20, 20, 0, 0, 0, 0, 0, 0, 0, len(name), 0, 0, 0, 0, 0, offset),
            )
            + name
        )
        local.append(header)
        offset += len(header)
    directory = b"".join(central)
    entries = min(count, 0xFFFF)  # a plain end record holds at most 65535; zip64 is not needed to lie low
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, entries, entries, len(directory), offset, 0)
    if count > 0xFFFF:  # zip64 end record and locator carry the true count
        sizes = (count, count, len(directory), offset)
        zip64_end = struct.pack("<IQHHIIQQQQ", 0x06064B50, 44, 45, 45, 0, 0, *sizes)
        locator = struct.pack("<IIQI", 0x07064B50, 0, offset + len(directory), 1)
        end = (
            zip64_end
            + locator
            + struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0)
        )
    return b"".join(local) + directory + end


def zip_with_broken_members(audio: bytes) -> bytes:
    """One good member and three unreadable ones: encrypted, unknown compression, corrupt data."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("good.wav", audio)
        for name in ("encrypted.wav", "method.wav", "corrupt.wav"):
            archive.writestr(name, audio)
    data = bytearray(buffer.getvalue())
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as archive:
        infos = {info.filename: info for info in archive.infolist()}
    for name, patch in (("encrypted.wav", "flag"), ("method.wav", "method"), ("corrupt.wav", "data")):
        info = infos[name]
        local = info.header_offset
        central = _central_record(data, name.encode())
        if patch == "flag":  # general purpose bit 0: encrypted
            for at in (local + 6, central + 8):
                data[at] |= 0x01
        elif patch == "method":  # 99: AES, which zipfile cannot read
            for at in (local + 8, central + 10):
                data[at : at + 2] = struct.pack("<H", 99)
        else:  # flip the compressed bytes in the middle of the member
            name_len, extra_len = struct.unpack("<HH", data[local + 26 : local + 30])
            start = local + 30 + name_len + extra_len + 20
            data[start : start + 64] = bytes(b ^ 0x5A for b in data[start : start + 64])
    return bytes(data)


def _central_record(data: bytearray, name: bytes) -> int:
    """Offset of the central-directory record of the member called *name*."""
    at = data.find(b"PK\x01\x02")
    while at != -1:
        name_len = struct.unpack("<H", data[at + 28 : at + 30])[0]
        if data[at + 46 : at + 46 + name_len] == name:
            return at
        at = data.find(b"PK\x01\x02", at + 4)
    raise ValueError(name)


def wav_excerpt(path: Path, seconds: float, repeat: int = 1) -> bytes:
    """The first *seconds* of a real recording, repeated *repeat* times, as 16-bit WAV bytes."""
    audio, rate = sf.read(path, dtype="float32")
    audio = np.tile(audio[: int(seconds * rate)], repeat)
    buffer = io.BytesIO()
    sf.write(buffer, audio, rate, format="WAV", subtype="PCM_16")
    return buffer.getvalue()
