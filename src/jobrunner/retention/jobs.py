"""Deleting finished jobs in batches: the ``cleanup`` job type (one organization, its
threshold) and the service's maintenance (every organization, ``JOBRUNNER_JOB_RETENTION_DAYS``)
both delete through ``job_batch``. Each batch is one short transaction: lock the rows
(``SKIP LOCKED``), mark the files of those jobs deleted where a ledger records them, delete
the rows (their import batches, sync runs and deliveries go by ``ON DELETE CASCADE``; audit
rows keep the job's id), and remove the files once committed (``retention/files.py``)."""

from __future__ import annotations

import logging
from typing import Any

import asyncpg

from jobrunner.db.sql import Q
from jobrunner.retention.files import Batch, files_of_jobs, remove_files, run_batches
from jobrunner.settings import Settings

log = logging.getLogger(__name__)

BATCH_SIZE = 500


def job_batch(pool: asyncpg.Pool, settings: Settings, lock_statement: str, *args: Any) -> Batch:
    """One batch of deleting the jobs that ``lock_statement`` (with ``args``) selects and
    locks (rows with ``id`` and ``job_type``)."""

    async def batch() -> tuple[int, int]:
        async with pool.acquire() as conn, conn.transaction():
            rows = await conn.fetch(lock_statement, *args)
            files = await files_of_jobs(conn, settings, rows)
            await conn.execute(Q.delete_jobs, [row["id"] for row in rows])
        return len(rows), await remove_files(files)

    return batch


async def prune_finished_jobs(pool: asyncpg.Pool, settings: Settings, *, batch_size: int = BATCH_SIZE) -> int:
    """Delete finished jobs completed more than ``job_retention_days`` ago (none when 0).
    Returns how many. Safe to run in several processes at once."""
    if settings.job_retention_days <= 0:
        return 0
    deleted, _ = await run_batches(
        job_batch(pool, settings, Q.lock_expired_jobs, settings.job_retention_days, batch_size)
    )
    if deleted:
        log.info("deleted %d finished jobs past retention (%d days)", deleted, settings.job_retention_days)
    return deleted
