"""Export files on local disk, under ``<data_dir>/exports``. Files are written to a
hidden temporary name in the same directory and renamed into place (atomic on POSIX), so
a reader sees the whole file or nothing."""

from __future__ import annotations

import asyncio
import os
import re
import uuid
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

from jobrunner.storage.base import FileMissing, PendingFile, Storage

CHUNK_BYTES = 256 * 1024
_KEY = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)*")


class LocalPendingFile(PendingFile):
    def __init__(self, key: str, final: Path) -> None:
        self.key = key
        self.final = final
        self.path = final.with_name(f".{final.name}.{uuid.uuid4().hex}.part")
        self.committed = False

    async def commit(self) -> int:
        def publish() -> int:
            with open(self.path, "rb+") as file:
                os.fsync(file.fileno())
            os.replace(self.path, self.final)
            return self.final.stat().st_size

        size = await asyncio.to_thread(publish)
        self.committed = True
        return size

    async def abort(self) -> None:
        self.path.unlink(missing_ok=True)


class LocalDiskStorage(Storage):
    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        if not _KEY.fullmatch(key) or ".." in key.split("/"):
            raise ValueError(f"invalid storage key {key!r}")
        return self.root / key

    async def begin(self, key: str) -> LocalPendingFile:
        final = self._path(key)
        final.parent.mkdir(parents=True, exist_ok=True)
        pending = LocalPendingFile(key, final)
        pending.path.touch()
        return pending

    async def read(self, key: str, start: int = 0, end: int | None = None) -> AsyncIterator[bytes]:
        path = self._path(key)
        try:
            file = open(path, "rb")
        except FileNotFoundError as exc:
            raise FileMissing(f"no file {key}") from exc
        with file:
            file.seek(start)
            remaining = None if end is None else end - start + 1
            while remaining is None or remaining > 0:
                want = CHUNK_BYTES if remaining is None else min(CHUNK_BYTES, remaining)
                chunk = await asyncio.to_thread(file.read, want)
                if not chunk:
                    break
                if remaining is not None:
                    remaining -= len(chunk)
                yield chunk

    async def size(self, key: str) -> int:
        try:
            return self._path(key).stat().st_size
        except FileNotFoundError as exc:
            raise FileMissing(f"no file {key}") from exc

    async def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    async def delete(self, key: str) -> bool:
        try:
            self._path(key).unlink()
        except FileNotFoundError:
            return False
        return True

    async def delete_many(self, keys: Sequence[str]) -> int:
        paths = [self._path(key) for key in keys]
        return await asyncio.to_thread(_unlink_all, paths)


def _unlink_all(paths: list[Path]) -> int:
    """Off the event loop, one thread hop for a whole batch."""
    freed = 0
    for path in paths:
        try:
            size = path.stat().st_size
            path.unlink()
        except FileNotFoundError:
            continue
        freed += size
    return freed
