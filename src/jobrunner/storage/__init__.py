"""Storage of files (the interface, local disk, S3-compatible object stores): export
files, and uploads with their rejected rows. Code outside this package goes through
``Storage``, never through a local path (workers' own scratch files aside)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from jobrunner.settings import Settings
from jobrunner.storage.base import FileMissing, PendingFile, Storage
from jobrunner.storage.local import LocalDiskStorage


def _storage(settings: Settings, area: str) -> Storage:
    if settings.storage_url:
        from jobrunner.storage.s3 import S3Storage, parse_storage_url

        bucket, prefix = parse_storage_url(settings.storage_url)
        return S3Storage(
            bucket,
            f"{prefix}/{area}" if prefix else area,
            scratch=Path(settings.data_dir) / "scratch",
            part_bytes=settings.storage_part_bytes,
        )
    return LocalDiskStorage(Path(settings.data_dir) / area)


def export_storage(settings: Settings) -> Storage:
    """Where export files go: ``<data_dir>/exports`` or ``s3://bucket/prefix/exports``."""
    return _storage(settings, "exports")


def upload_storage(settings: Settings) -> Storage:
    """Where uploads and rejected-rows files go: ``<data_dir>/uploads`` or ``.../uploads``."""
    return _storage(settings, "uploads")


async def abort_abandoned_writes(settings: Settings) -> int:
    """Remove writes that a killed process left unfinished (both areas); how many."""
    older_than = dt.timedelta(seconds=settings.storage_abandoned_after_seconds)
    return sum(
        [await storage.abort_abandoned(older_than) for storage in (export_storage(settings), upload_storage(settings))]
    )


async def close_storage(settings: Settings) -> None:
    """Release the object store's connections (at shutdown); nothing for local disk."""
    if settings.storage_url:
        from jobrunner.storage.s3 import CLIENTS

        await CLIENTS.close()


__all__ = [
    "FileMissing",
    "LocalDiskStorage",
    "PendingFile",
    "Storage",
    "abort_abandoned_writes",
    "close_storage",
    "export_storage",
    "upload_storage",
]
