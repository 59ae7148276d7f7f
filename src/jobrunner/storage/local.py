"""Files on local disk (``<data_dir>/exports``, ``<data_dir>/uploads``). Files are written
to a hidden temporary name (``.<name>.<random>.part``) in the same directory and renamed
into place (atomic on POSIX), so a reader sees the whole file or nothing."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import BinaryIO

from jobrunner.storage.base import FileMissing, PendingFile, Storage, check_key

CHUNK_BYTES = 256 * 1024
# ``write`` collects this much before one write to the file (one thread hop).
FLUSH_BYTES = 1024 * 1024


class LocalPendingFile(PendingFile):
    def __init__(self, key: str, final: Path) -> None:
        self.key = key
        self.final = final
        self.path = final.with_name(f".{final.name}.{uuid.uuid4().hex}.part")
        self.committed = False
        self._file: BinaryIO | None = None
        self._buffer = bytearray()

    async def write(self, data: bytes) -> None:
        self._buffer += data
        if len(self._buffer) >= FLUSH_BYTES:
            await self._flush()

    async def _flush(self) -> None:
        if self._file is None:
            self._file = open(self.path, "ab")  # noqa: SIM115 - closed by commit or abort
        chunk, self._buffer = bytes(self._buffer), bytearray()
        await asyncio.to_thread(self._file.write, chunk)

    def _close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    async def commit(self) -> int:
        if self._buffer:
            await self._flush()
        self._close()

        def publish() -> int:
            with open(self.path, "rb+") as file:
                os.fsync(file.fileno())
            os.replace(self.path, self.final)
            return self.final.stat().st_size

        size = await asyncio.to_thread(publish)
        self.committed = True
        return size

    async def abort(self) -> None:
        self._close()
        self._buffer.clear()
        self.path.unlink(missing_ok=True)


class LocalDiskStorage(Storage):
    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        return self.root / check_key(key)

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

    async def local_file(self, key: str, scratch: Path) -> Path:
        path = self._path(key)
        if not path.is_file():
            raise FileMissing(f"no file {key}")
        return path

    async def put_file(self, key: str, source: Path) -> int:
        """A rename when ``source`` is on the same file system (jobrunner's scratch files
        are: ``<data_dir>/uploads/work``), else a streamed copy."""
        final = self._path(key)
        final.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.replace(source, final)
        except OSError:
            return await super().put_file(key, source)
        return final.stat().st_size

    async def abort_abandoned(self, older_than: dt.timedelta) -> int:
        return await asyncio.to_thread(_remove_old_parts, self.root, time.time() - older_than.total_seconds())

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


def _remove_old_parts(root: Path, before: float) -> int:
    removed = 0
    for path in root.rglob(".*.part"):
        try:
            if path.stat().st_mtime < before:
                path.unlink()
                removed += 1
        except FileNotFoundError:
            continue
    return removed
