"""Where files live (exports, uploads, rejected rows): the interface. ``LocalDiskStorage``
keeps them on disk; ``S3Storage`` in an S3-compatible object store (``write`` streams
multipart parts, ``read`` maps to ranged GETs, ``presigned_url`` to a signed GET).

Keys are relative, slash-separated names chosen by jobrunner (unique per job or upload),
never by a client."""

from __future__ import annotations

import abc
import asyncio
import datetime as dt
import re
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

from jobrunner.domain.errors import NotFound

# Bytes read from a local file per step when streaming it into storage.
READ_BYTES = 1024 * 1024


_KEY = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)*")


def check_key(key: str) -> str:
    """``key`` if it is a relative name of safe characters (ValueError otherwise)."""
    if not _KEY.fullmatch(key) or ".." in key.split("/"):
        raise ValueError(f"invalid storage key {key!r}")
    return key


class FileMissing(NotFound):
    """No file is stored under this key."""


class PendingFile(abc.ABC):
    """A file being written, one of two ways: its bytes in order through ``write`` (they go
    straight to the storage: nothing beyond one part is kept), or a library that needs a
    file writes to ``path`` (a local scratch file). Not both. ``commit`` then publishes it
    under its key atomically, or ``abort`` throws it away. Readers never see a
    half-written file."""

    key: str
    path: Path

    @abc.abstractmethod
    async def write(self, data: bytes) -> None:
        """Append ``data`` to the file."""

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
    async def local_file(self, key: str, scratch: Path) -> Path:
        """A local file holding the file's bytes, for code that reads files by path (the
        CSV importer): the stored file itself on local disk, else ``scratch`` after a
        download into it. FileMissing when there is none."""

    async def put_file(self, key: str, source: Path) -> int:
        """Store the local file ``source`` under ``key``, streamed; its size."""
        pending = await self.begin(key)
        try:
            with open(source, "rb") as file:
                while chunk := await asyncio.to_thread(file.read, READ_BYTES):
                    await pending.write(chunk)
            return await pending.commit()
        finally:
            await pending.abort()

    async def presigned_url(self, key: str, *, seconds: int, disposition: str, content_type: str) -> str | None:
        """A URL that serves the file for ``seconds`` without jobrunner, with these
        ``Content-Disposition`` and ``Content-Type``; None when this storage has no such
        thing (local disk)."""
        return None

    @abc.abstractmethod
    async def abort_abandoned(self, older_than: dt.timedelta) -> int:
        """Remove writes begun longer ago than ``older_than`` and never committed or
        aborted (a process killed mid-write): temporary files, incomplete multipart
        uploads. Returns how many."""

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
