"""Uploads in an S3-compatible bucket (MinIO, AWS S3, Ceph...), for cluster mode.

API replicas and workers do not share a disk: the API puts each accepted
upload into the bucket under its job id, and the worker that claims the job
copies it to its own scratch space.  Objects are deleted with the job (POPIA),
never kept longer than its local copy would be.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

UPLOAD = "upload"


class S3Blobs:
    """Job files in one bucket, under ``<job_id>/``."""

    def __init__(
        self,
        bucket: str,
        endpoint_url: str = "",
        access_key_id: str = "",
        secret_access_key: str = "",
        region: str = "us-east-1",
        client: Any = None,
    ) -> None:
        if client is None:
            import boto3
            from botocore.config import Config

            client = boto3.client(
                "s3",
                endpoint_url=endpoint_url or None,
                aws_access_key_id=access_key_id or None,
                aws_secret_access_key=secret_access_key or None,
                region_name=region,
                config=Config(connect_timeout=5, read_timeout=60, retries={"max_attempts": 3}),
            )
        self.client = client
        self.bucket = bucket

    def url(self, job_id: str, name: str = UPLOAD) -> str:
        return f"s3://{self.bucket}/{job_id}/{name}"

    def ensure_bucket(self) -> None:
        """Create the bucket when it is missing (compose and tests start with an empty store)."""
        try:
            self.client.head_bucket(Bucket=self.bucket)
        except self.client.exceptions.ClientError:
            self.client.create_bucket(Bucket=self.bucket)

    def put(self, job_id: str, path: Path, name: str = UPLOAD) -> str:
        self.client.upload_file(str(path), self.bucket, f"{job_id}/{name}")
        return self.url(job_id, name)

    def get(self, job_id: str, target: Path, name: str = UPLOAD) -> None:
        """Download into *target*, created owner-only (the SDK's own download leaves it 0644)."""
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as out:
            self.client.download_fileobj(self.bucket, f"{job_id}/{name}", out)

    def delete(self, job_id: str, only: str | None = None) -> None:
        """Delete the job's objects (or just the one called *only*)."""
        if only is not None:
            self.client.delete_object(Bucket=self.bucket, Key=f"{job_id}/{only}")
            return
        listed = self.client.list_objects_v2(Bucket=self.bucket, Prefix=f"{job_id}/")
        keys = [{"Key": item["Key"]} for item in listed.get("Contents", [])]
        if keys:
            self.client.delete_objects(Bucket=self.bucket, Delete={"Objects": keys, "Quiet": True})

    def ping(self) -> None:
        self.client.head_bucket(Bucket=self.bucket)
