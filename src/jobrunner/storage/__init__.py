"""Storage of files (the interface and a local-disk implementation): export files, and
uploads (``UploadStore.storage``). Code outside this package goes through ``Storage``, never
through a local path."""

from __future__ import annotations

from pathlib import Path

from jobrunner.settings import Settings
from jobrunner.storage.base import FileMissing, PendingFile, Storage
from jobrunner.storage.local import LocalDiskStorage


def export_storage(settings: Settings) -> Storage:
    """The storage export files go to: ``<data_dir>/exports`` on local disk."""
    return LocalDiskStorage(Path(settings.data_dir) / "exports")


__all__ = ["FileMissing", "LocalDiskStorage", "PendingFile", "Storage", "export_storage"]
