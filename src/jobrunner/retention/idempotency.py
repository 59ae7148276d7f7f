"""Deleting expired idempotency keys (``POST /v1/jobs`` with ``Idempotency-Key``): the
service's maintenance deletes keys older than ``JOBRUNNER_IDEMPOTENCY_KEY_TTL_SECONDS`` in
small batches, each its own short transaction. An expired key not yet deleted is already
free (the creation takes it over), so this only keeps the table small."""

from __future__ import annotations

import logging

import asyncpg

from jobrunner.db.sql import Q
from jobrunner.retention.files import run_batches
from jobrunner.settings import Settings

log = logging.getLogger(__name__)

BATCH_SIZE = 1000


async def prune_idempotency_keys(pool: asyncpg.Pool, settings: Settings, *, batch_size: int = BATCH_SIZE) -> int:
    """Delete expired keys; returns how many. Safe to run in several processes at once."""

    async def batch() -> tuple[int, int]:
        return await pool.fetchval(Q.prune_idempotency_keys, settings.idempotency_key_ttl_seconds, batch_size), 0

    deleted, _ = await run_batches(batch)
    if deleted:
        log.info("deleted %d expired idempotency keys", deleted)
    return deleted
