"""Service-wide housekeeping that every worker process does on the side: export files past
retention are deleted (their links already answer 410 from the moment they expire).
Runs at start and then every ``JOBRUNNER_MAINTENANCE_INTERVAL_SECONDS``; safe to run in
several processes at once. The per-organization ``cleanup`` job type does the rest
(old jobs, uploads) when an admin asks for it."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

import asyncpg

from jobrunner.db.pool import create_pool
from jobrunner.exports.files import purge_expired_exports
from jobrunner.settings import Settings
from jobrunner.storage import export_storage

log = logging.getLogger(__name__)

_ERRORS = (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError)


@contextlib.asynccontextmanager
async def periodic_maintenance(database_url: str, settings: Settings) -> AsyncIterator[None]:
    pool = await create_pool(database_url, min_size=1, max_size=1, stateless=True)
    task = asyncio.create_task(_run(pool, settings), name="jobrunner-maintenance")
    try:
        yield
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await pool.close()


async def _run(pool, settings: Settings) -> None:
    storage = export_storage(settings)
    while True:
        try:
            await purge_expired_exports(pool, storage)
        except _ERRORS as exc:  # the database or the disk is away: try again next round
            log.warning("maintenance failed (%s); next try in %.0f s", exc, settings.maintenance_interval_seconds)
        await asyncio.sleep(settings.maintenance_interval_seconds)
