"""Service-wide housekeeping that every worker process does on the side: export files past
retention are deleted (their links already answer 410 from the moment they expire), and
finished jobs older than ``JOBRUNNER_JOB_RETENTION_DAYS`` are deleted in batches (with
their files), so the jobs table does not grow without end, idempotency keys past
``JOBRUNNER_IDEMPOTENCY_KEY_TTL_SECONDS`` are deleted, and writes that a killed
process left unfinished (incomplete multipart uploads, temporary files older than
``JOBRUNNER_STORAGE_ABANDONED_AFTER_SECONDS``) are removed.
Runs at start and then every ``JOBRUNNER_MAINTENANCE_INTERVAL_SECONDS``; safe to run in
several processes at once. The per-organization ``cleanup`` job type does the rest
(old jobs, uploads) when an admin asks for it."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from jobrunner.background import in_background
from jobrunner.db.errors import DRIVER_ERRORS
from jobrunner.db.pool import FairPool, service_pool
from jobrunner.domain.errors import StorageUnavailable
from jobrunner.exports.files import purge_expired_exports
from jobrunner.retention.idempotency import prune_idempotency_keys
from jobrunner.retention.jobs import prune_finished_jobs
from jobrunner.settings import Settings
from jobrunner.storage import abort_abandoned_writes, export_storage

log = logging.getLogger(__name__)

# The database or the storage is away: try again next round.
MAINTENANCE_ERRORS: tuple[type[BaseException], ...] = (*DRIVER_ERRORS, StorageUnavailable)


def periodic_maintenance(database_url: str, settings: Settings) -> contextlib.AbstractAsyncContextManager[None]:
    """Runs in the background; connects (and reconnects) by itself, so the database being
    away neither delays the start nor ends the timer."""
    return in_background(_run(database_url, settings), name="jobrunner-maintenance")


async def _run(database_url: str, settings: Settings) -> None:
    pool: FairPool = await service_pool(database_url, settings, what="maintenance")
    try:
        storage = export_storage(settings)
        while True:
            try:
                await purge_expired_exports(pool, storage)
                await prune_finished_jobs(pool, settings)
                await prune_idempotency_keys(pool, settings)
                await abort_abandoned_writes(settings)
            except MAINTENANCE_ERRORS as exc:  # the database or the storage is away: next round
                log.warning("maintenance failed (%r); next try in %.0f s", exc, settings.maintenance_interval_seconds)
            await asyncio.sleep(settings.maintenance_interval_seconds)
    finally:
        pool.terminate()
