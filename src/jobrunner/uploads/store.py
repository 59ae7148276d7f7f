"""Where uploads and rejected-rows files live: ``DATA_DIR/uploads/<key>``. Keys are chosen
by jobrunner (``files/<upload id>.csv``, ``rejected/<job id>.csv``), never by a
client; files are written under a temporary name and renamed into place."""

from __future__ import annotations

import asyncio
import os
import uuid
from pathlib import Path

from jobrunner.settings import Settings
from jobrunner.storage import LocalDiskStorage, Storage


class UploadStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    @classmethod
    def from_settings(cls, settings: Settings) -> UploadStore:
        return cls(Path(settings.data_dir) / "uploads")

    def storage(self) -> Storage:
        """The same files through the ``Storage`` interface (reading, deleting)."""
        return LocalDiskStorage(self.root)

    def path(self, key: str) -> Path:
        if not key or key.startswith("/") or ".." in key.split("/"):
            raise ValueError(f"bad storage key {key!r}")
        return self.root / key

    def temporary(self, key: str) -> Path:
        """A private name next to ``key``'s final place (same directory: rename is atomic)."""
        final = self.path(key)
        final.parent.mkdir(parents=True, exist_ok=True)
        return final.with_name(f".{final.name}.{uuid.uuid4().hex}.part")

    def work_file(self, job_id: uuid.UUID, kind: str) -> Path:
        """A job's private working file (``work/<job id>.<kind>``): the same name in every
        attempt, so a retry overwrites what a killed attempt left behind."""
        directory = self.root / "work"
        directory.mkdir(parents=True, exist_ok=True)
        return directory / f"{job_id}.{kind}"

    def publish(self, temporary: Path, key: str) -> int:
        final = self.path(key)
        final.parent.mkdir(parents=True, exist_ok=True)
        size = temporary.stat().st_size
        os.replace(temporary, final)
        return size

    async def remove(self, key: str) -> int:
        """Delete the file; the bytes freed (0 when there was none)."""
        return await asyncio.to_thread(_unlink, self.path(key))


def _unlink(path: Path) -> int:
    try:
        size = path.stat().st_size
        path.unlink()
    except FileNotFoundError:
        return 0
    return size


def upload_key(upload_id: uuid.UUID) -> str:
    return f"files/{upload_id}.csv"


def rejected_rows_key(job_id: uuid.UUID) -> str:
    return f"rejected/{job_id}.csv"
