"""Uploaded audio on local disk, one directory per job.

Audio is personal data (POPIA): it is written with owner-only permissions and
removed as soon as the job no longer needs it (unless ``KEEP_AUDIO``).  A
failed or oversize upload never leaves a partial file behind.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path
from typing import BinaryIO

CHUNK = 1024 * 1024


class UploadTooLargeError(ValueError):
    def __init__(self, limit_bytes: int) -> None:
        super().__init__(f"The upload exceeds the limit of {limit_bytes / 1024 / 1024:.0f} MiB.")
        self.limit_bytes = limit_bytes


class AudioStore:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)

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

    def delete(self, job_id: str) -> None:
        shutil.rmtree(self.job_dir(job_id), ignore_errors=True)

    def delete_decoded(self, job_id: str) -> None:
        self.decoded_path(job_id).unlink(missing_ok=True)
