"""The ``export_files`` rows: recording a finished file, finding it for a download,
discarding a file whose job did not succeed, and retention."""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from dataclasses import dataclass

import asyncpg

from jobrunner.db.sql import Q
from jobrunner.retention.files import run_batches
from jobrunner.storage.base import Storage

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ExportFile:
    job_id: uuid.UUID
    organization_id: str
    user_id: str
    report_type: str
    format: str
    storage_key: str
    download_name: str
    content_type: str
    size_bytes: int
    record_count: int
    created_at: dt.datetime
    expires_at: dt.datetime
    deleted_at: dt.datetime | None = None

    def is_gone(self, now: dt.datetime) -> bool:
        """Past retention (whether or not the file was deleted yet)."""
        return self.deleted_at is not None or self.expires_at <= now


async def record_export_file(pool: asyncpg.Pool, file: ExportFile) -> None:
    await pool.execute(
        Q.export_file_upsert,
        file.job_id,
        file.organization_id,
        file.user_id,
        file.report_type,
        file.format,
        file.storage_key,
        file.download_name,
        file.content_type,
        file.size_bytes,
        file.record_count,
        file.created_at,
        file.expires_at,
    )


async def find_export_file(pool: asyncpg.Pool, job_id: uuid.UUID) -> ExportFile | None:
    row = await pool.fetchrow(Q.export_file_by_job, job_id)
    return ExportFile(**dict(row)) if row else None


async def discard_export(pool: asyncpg.Pool, storage: Storage, job_id: uuid.UUID, key: str) -> None:
    """Remove a published file and its row (the attempt did not end in success)."""
    await storage.delete(key)
    await pool.execute(Q.export_file_delete, job_id)


async def purge_expired_exports(
    pool: asyncpg.Pool, storage: Storage, *, now: dt.datetime | None = None, batch_size: int = 500
) -> int:
    """Delete the files past retention; their rows stay (marked) so links answer 410.
    Returns how many files were purged. Safe to run from several processes at once."""
    moment = now or dt.datetime.now(dt.UTC)

    async def batch() -> tuple[int, int]:
        rows = await pool.fetch(Q.export_files_expired, moment, batch_size)
        for row in rows:
            await storage.delete(row["storage_key"])
            await pool.execute(Q.export_file_mark_deleted, row["job_id"], moment)
        return len(rows), 0

    purged, _ = await run_batches(batch)
    log.info("purged %d expired export files", purged)
    return purged
