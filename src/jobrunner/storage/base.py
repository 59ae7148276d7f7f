"""Where export files live: the interface. ``LocalDiskStorage`` keeps them on disk; an
S3-compatible storage implements the same methods (``begin`` spools to a local file and
uploads on ``commit``; ``read`` maps to ranged GETs).

Keys are relative, slash-separated names chosen by the caller (unique per job)."""

from __future__ import annotations

import abc
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

from jobrunner.domain.errors import NotFound


class FileMissing(NotFound):
    """No file is stored under this key."""


class PendingFile(abc.ABC):
    """A file being written: writers write to ``path`` (a local file), then ``commit``
    publishes it under its key atomically, or ``abort`` throws it away. Readers never see
    a half-written file."""

    key: str
    path: Path

    @abc.abstractmethod
    async def commit(self) -> int:
        """Publish the file under its key (replacing any older one); return its size."""

    @abc.abstractmethod
    async def abort(self) -> None:
        """Discard the unpublished file. Safe to call more than once, and after commit."""


class Storage(abc.ABC):
    @abc.abstractmethod
    async def begin(self, key: str) -> PendingFile:
        """Start writing the file that will be stored under ``key``."""

    @abc.abstractmethod
    def read(self, key: str, start: int = 0, end: int | None = None) -> AsyncIterator[bytes]:
        """Stream bytes ``start``..``end`` (inclusive; ``None`` = to the end) in chunks.
        Raises FileMissing when there is no such file."""

    @abc.abstractmethod
    async def size(self, key: str) -> int:
        """The file's size in bytes; FileMissing when there is none."""

    @abc.abstractmethod
    async def exists(self, key: str) -> bool: ...

    @abc.abstractmethod
    async def delete(self, key: str) -> bool:
        """Remove the file; False when there was none."""

    async def delete_many(self, keys: Sequence[str]) -> int:
        """Remove these files; the bytes freed (a missing file counts 0). Implementations
        may do it in one go."""
        freed = 0
        for key in keys:
            try:
                size = await self.size(key)
            except FileMissing:
                continue
            if await self.delete(key):
                freed += size
        return freed
