"""The operations console's database access (queries/admin.sql): every job of an
organization, a job's history, bulk actions, the live queue and the workers."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

import asyncpg

from jobrunner.db.errors import DRIVER_ERRORS, translate
from jobrunner.db.jobs_repository import JobsRepository
from jobrunner.db.sql import Q

# The console's statements take optional filters ("$4 IS NULL OR user_id = $4"): with a
# generic plan PostgreSQL could not use the index a given filter allows.
_CUSTOM_PLANS = "SET LOCAL plan_cache_mode = force_custom_plan"


@dataclass(frozen=True, slots=True)
class JobFilter:
    """Which of an organization's jobs: every field None means any."""

    id_low: uuid.UUID | None = None
    id_high: uuid.UUID | None = None
    user_id: str | None = None
    job_type: str | None = None
    statuses: tuple[str, ...] | None = None
    created_from: dt.datetime | None = None
    created_to: dt.datetime | None = None
    ids: tuple[uuid.UUID, ...] | None = None

    def args(self, organization_id: str) -> tuple[Any, ...]:
        """$1..$9 of the admin_job_filter fragment."""
        return (
            organization_id,
            self.id_low,
            self.id_high,
            self.user_id,
            self.job_type,
            list(self.statuses) if self.statuses is not None else None,
            self.created_from,
            self.created_to,
            list(self.ids) if self.ids is not None else None,
        )


@dataclass(frozen=True, slots=True)
class BulkOutcome:
    ids: list[uuid.UUID]
    more: bool


class AdminRepository(JobsRepository):
    """``access`` (who may use the console) comes from the jobs repository."""

    async def jobs_page(
        self, organization_id: str, where: JobFilter, *, limit: int, offset: int, count_cap: int
    ) -> tuple[int, list[asyncpg.Record]]:
        args = where.args(organization_id)
        async with self._pool.acquire() as conn:
            try:
                async with conn.transaction(readonly=True):
                    await conn.execute(_CUSTOM_PLANS)
                    total = await conn.fetchval(Q.admin_count_jobs, *args, count_cap)
                    rows = await conn.fetch(Q.admin_list_jobs, *args, limit, offset)
            except DRIVER_ERRORS as exc:
                raise translate(exc) from exc
        return total, rows

    async def job(self, organization_id: str, job_id: uuid.UUID) -> asyncpg.Record | None:
        return await self._fetchrow(Q.admin_job, organization_id, job_id)

    async def webhook_deliveries(self, job_id: uuid.UUID) -> list[asyncpg.Record]:
        return await self._fetch(Q.job_webhook_deliveries, job_id)

    async def history(self, organization_id: str, job_id: uuid.UUID, limit: int) -> list[asyncpg.Record]:
        return await self._fetch(Q.admin_job_history, organization_id, job_id, limit)

    async def cancel_jobs(self, organization_id: str, where: JobFilter, limit: int, admin_id: str) -> BulkOutcome:
        return await self._bulk(Q.admin_cancel_jobs, organization_id, where, limit, admin_id)

    async def retry_jobs_anyway(self, organization_id: str, where: JobFilter, limit: int, admin_id: str) -> BulkOutcome:
        return await self._bulk(Q.admin_retry_jobs, organization_id, where, limit, admin_id)

    async def queue(self, organization_id: str, default_limit: int) -> tuple[asyncpg.Record, list, list]:
        async with self._pool.acquire() as conn:
            try:
                async with conn.transaction(readonly=True, isolation="repeatable_read"):
                    running = await conn.fetchrow(Q.admin_queue_running, organization_id, default_limit)
                    waiting = await conn.fetch(Q.admin_queue_waiting, organization_id)
                    throughput = await conn.fetch(Q.admin_queue_throughput, organization_id)
            except DRIVER_ERRORS as exc:
                raise translate(exc) from exc
        return running, waiting, throughput

    async def workers(self, organization_id: str) -> list[asyncpg.Record]:
        return await self._fetch(Q.admin_workers, organization_id)

    async def _bulk(self, query: str, organization_id: str, where: JobFilter, limit: int, admin_id: str) -> BulkOutcome:
        async with self._pool.acquire() as conn:
            try:
                async with conn.transaction():
                    await conn.execute(_CUSTOM_PLANS)
                    row = await conn.fetchrow(query, *where.args(organization_id), limit, admin_id)
            except DRIVER_ERRORS as exc:
                raise translate(exc) from exc
        return BulkOutcome(ids=list(row["ids"]), more=row["more"])

    async def _fetch(self, query: str, *args: Any) -> list[asyncpg.Record]:
        try:
            return await self._pool.fetch(query, *args)
        except DRIVER_ERRORS as exc:
            raise translate(exc) from exc
