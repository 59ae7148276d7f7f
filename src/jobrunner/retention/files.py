"""Files that belong to jobs. When cleanup deletes job rows, each registered finder names
the files of those jobs (in the same transaction, before the rows go, marking them
deleted where a ledger records them); they are removed once the delete has committed, so a failed delete never loses a file that a row
still points to (a crash in between leaves an orphan file, never a dangling row)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Sequence
from pathlib import Path

import asyncpg

from jobrunner.db.sql import Q
from jobrunner.settings import Settings
from jobrunner.storage import export_storage
from jobrunner.uploads.store import UploadStore, rejected_rows_key

JobFilesFinder = Callable[[asyncpg.Connection, Settings, Sequence[asyncpg.Record]], Awaitable[list[Path]]]
"""``finder(conn, settings, job_rows) -> paths``; ``job_rows`` have ``id`` and ``job_type``."""

_FINDERS: list[JobFilesFinder] = []


def register_job_files(finder: JobFilesFinder) -> JobFilesFinder:
    _FINDERS.append(finder)
    return finder


async def files_of_jobs(conn: asyncpg.Connection, settings: Settings, rows: Sequence[asyncpg.Record]) -> list[Path]:
    paths: list[Path] = []
    for finder in _FINDERS:
        paths += await finder(conn, settings, rows)
    return paths


async def remove_files(paths: Iterable[Path]) -> int:
    """Delete the files; the bytes freed (missing files count 0)."""
    return await asyncio.to_thread(_unlink_all, list(paths))


def _unlink_all(paths: list[Path]) -> int:
    freed = 0
    for path in paths:
        try:
            size = path.stat().st_size
            path.unlink()
        except FileNotFoundError:
            continue
        freed += size
    return freed


@register_job_files
async def _rejected_rows_files(conn: asyncpg.Connection, settings: Settings, rows: Sequence[asyncpg.Record]) -> list[Path]:
    store = UploadStore.from_settings(settings)
    return [store.path(rejected_rows_key(row["id"])) for row in rows if row["job_type"] == "data_processing"]


@register_job_files
async def _export_files(conn: asyncpg.Connection, settings: Settings, rows: Sequence[asyncpg.Record]) -> list[Path]:
    exports = [row["id"] for row in rows if row["job_type"] == "export_report"]
    if not exports:
        return []
    root = export_storage(settings).root
    return [root / row["storage_key"] for row in await conn.fetch(Q.mark_export_files_of_jobs_deleted, exports)]
