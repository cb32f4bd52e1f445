"""Uploaded audio on local disk, one directory per job, optionally published to a bucket.

Audio is personal data (POPIA): it is written with owner-only permissions and
removed as soon as the job no longer needs it (unless ``KEEP_AUDIO``).  A
failed or oversize upload never leaves a partial file behind.

Every upload is first written and checked on the local disk.  With a bucket
(cluster mode, ``AUDIO_STORAGE=s3``) an accepted upload is then *published*:
moved into the bucket, and the job records its ``s3://`` address; the worker
that takes the job *fetches* it back to its own disk.  Without one, the local
path is the address (a volume shared by replicas in a file-based cluster).
"""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path
from typing import BinaryIO

from .object_store import S3Blobs

CHUNK = 1024 * 1024


class UploadTooLargeError(ValueError):
    def __init__(self, limit_bytes: int) -> None:
        super().__init__(f"The upload exceeds the limit of {limit_bytes / 1024 / 1024:.0f} MiB.")
        self.limit_bytes = limit_bytes


class AudioStore:
    def __init__(self, root: Path, remote: S3Blobs | None = None) -> None:
        self.root = root
        self.remote = remote
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)

    def publish(self, job_id: str, path: Path) -> str:
        """Make an accepted upload reachable by any worker; returns the address the job records."""
        if self.remote is None:
            return str(path)
        address = self.remote.put(job_id, path)
        shutil.rmtree(self.job_dir(job_id), ignore_errors=True)
        return address

    def fetch(self, job_id: str, address: str | None) -> Path | None:
        """The job's upload on this machine's disk (copied from the bucket if need be); None if gone."""
        if not address:
            return None
        if not address.startswith("s3://"):
            return Path(address) if Path(address).exists() else None
        if self.remote is None:
            raise RuntimeError("This job's audio is in a bucket, but AUDIO_STORAGE is not 's3'.")
        directory = self.job_dir(job_id)
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        target = directory / "upload"
        try:
            self.remote.get(job_id, target)
        except Exception:
            shutil.rmtree(directory, ignore_errors=True)
            return None
        return target

    def job_dir(self, job_id: str) -> Path:
        return self.root / job_id

    def save(self, job_id: str, source: BinaryIO, max_bytes: int) -> tuple[Path, str]:
        """Copy *source* to the job's directory, refusing more than *max_bytes*.

        Returns the path and the upload's SHA-256 (for idempotent resubmission).
        """
        digest = hashlib.sha256()
        directory = self.job_dir(job_id)
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        target = directory / "upload"
        written = 0
        try:
            fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "wb") as out:
                while chunk := source.read(CHUNK):
                    written += len(chunk)
                    if written > max_bytes:
                        raise UploadTooLargeError(max_bytes)
                    out.write(chunk)
                    digest.update(chunk)
        except BaseException:
            self.delete(job_id)
            raise
        return target, digest.hexdigest()

    def decoded_path(self, job_id: str) -> Path:
        """Where the 16 kHz float32 decode for the model workers is written."""
        return self.job_dir(job_id) / "audio16k.npy"

    def playback_path(self, job_id: str) -> Path:
        """The compressed copy for the web console's player (KEEP_PLAYBACK_COPY); erased by :meth:`delete`."""
        return self.job_dir(job_id) / "playback.ogg"

    def delete_local(self, job_id: str) -> None:
        """Erase this machine's copy of the job's files only (the bucket keeps its own)."""
        shutil.rmtree(self.job_dir(job_id), ignore_errors=True)

    def delete(self, job_id: str) -> None:
        shutil.rmtree(self.job_dir(job_id), ignore_errors=True)
        if self.remote is not None:
            self.remote.delete(job_id)

    def delete_upload(self, job_id: str) -> None:
        """Erase the upload; the whole directory too, unless it holds a playback copy to keep."""
        if self.playback_path(job_id).exists():
            (self.job_dir(job_id) / "upload").unlink(missing_ok=True)
            if self.remote is not None:
                self.remote.delete(job_id, only="upload")
        else:
            self.delete(job_id)

    def delete_decoded(self, job_id: str) -> None:
        self.decoded_path(job_id).unlink(missing_ok=True)
