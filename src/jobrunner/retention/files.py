"""Deleting files, the one cleanup runner: the ``cleanup`` job type and the service's
maintenance (``exports.files.purge_expired_exports``) both delete in batches through
``run_batches``, and remove files through the ``Storage`` interface (``remove_files``).

Files that belong to jobs: when cleanup deletes job rows, each registered finder names
the files of those jobs (in the same transaction, before the rows go, marking them
deleted where a ledger records them); they are removed once the delete has committed, so
a failed delete never loses a file that a row still points to (a crash in between leaves
an orphan file, never a dangling row)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence

import asyncpg

from jobrunner.db.sql import Q
from jobrunner.settings import Settings
from jobrunner.storage import Storage, export_storage, upload_storage
from jobrunner.uploads.store import rejected_rows_key

StoredFile = tuple[Storage, str]
"""A file: the storage that holds it and its key there."""

JobFilesFinder = Callable[[asyncpg.Connection, Settings, Sequence[asyncpg.Record]], Awaitable[list[StoredFile]]]
"""``finder(conn, settings, job_rows) -> files``; ``job_rows`` have ``id`` and ``job_type``."""

Batch = Callable[[], Awaitable[tuple[int, int]]]
"""Deletes one batch; returns (items deleted, bytes freed). (0, _) means done."""

_FINDERS: list[JobFilesFinder] = []


async def run_batches(batch: Batch, *, after_each: Callable[[int], Awaitable[None]] | None = None) -> tuple[int, int]:
    """Run ``batch`` until it deletes nothing; ``after_each(deleted so far)`` follows each
    batch that did (progress, a cancellation check). Returns (deleted, bytes freed)."""
    deleted = freed = 0
    while True:
        count, size = await batch()
        if count == 0:
            return deleted, freed
        deleted += count
        freed += size
        if after_each is not None:
            await after_each(deleted)


def register_job_files(finder: JobFilesFinder) -> JobFilesFinder:
    _FINDERS.append(finder)
    return finder


async def files_of_jobs(
    conn: asyncpg.Connection, settings: Settings, rows: Sequence[asyncpg.Record]
) -> list[StoredFile]:
    files: list[StoredFile] = []
    for finder in _FINDERS:
        files += await finder(conn, settings, rows)
    return files


async def remove_files(files: Iterable[StoredFile]) -> int:
    """Delete the files; the bytes freed (missing files count 0)."""
    by_storage: dict[int, tuple[Storage, list[str]]] = {}
    for storage, key in files:
        by_storage.setdefault(id(storage), (storage, []))[1].append(key)
    freed = 0
    for storage, keys in by_storage.values():
        freed += await storage.delete_many(keys)
    return freed


@register_job_files
async def _rejected_rows_files(
    conn: asyncpg.Connection, settings: Settings, rows: Sequence[asyncpg.Record]
) -> list[StoredFile]:
    storage = upload_storage(settings)
    return [(storage, rejected_rows_key(row["id"])) for row in rows if row["job_type"] == "data_processing"]


@register_job_files
async def _export_files(
    conn: asyncpg.Connection, settings: Settings, rows: Sequence[asyncpg.Record]
) -> list[StoredFile]:
    exports = [row["id"] for row in rows if row["job_type"] == "export_report"]
    if not exports:
        return []
    storage = export_storage(settings)
    return [(storage, row["storage_key"]) for row in await conn.fetch(Q.mark_export_files_of_jobs_deleted, exports)]
