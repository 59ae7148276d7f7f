"""Recurring schedules' database access (queries/schedules.sql): the API's statements,
scoped by organization, and the scheduler's (one due schedule per transaction)."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import asyncpg

from jobrunner.auth.rbac import Access
from jobrunner.db.errors import DRIVER_ERRORS, translate
from jobrunner.db.jobs_repository import JobsRepository, NewJob
from jobrunner.db.sql import Q
from jobrunner.domain.quotas import JobQuotas, job_refusal


@dataclass(frozen=True, slots=True)
class ScheduleFields:
    """Every editable column of a schedule."""

    cron: str
    timezone: str
    job_type: str
    payload: dict[str, Any]
    priority: int
    max_retries: int
    paused: bool
    misfire_policy: str
    overlap_policy: str
    next_run_at: dt.datetime | None

    def args(self) -> tuple[Any, ...]:
        return (
            self.cron,
            self.timezone,
            self.job_type,
            self.payload,
            self.priority,
            self.max_retries,
            self.paused,
            self.misfire_policy,
            self.overlap_policy,
            self.next_run_at,
        )


class SchedulesRepository(JobsRepository):
    """``access`` (the caller's permissions) comes from the jobs repository."""

    async def insert(self, organization_id: str, owner_id: str, fields: ScheduleFields) -> asyncpg.Record:
        return await self._fetchrow(Q.create_schedule, organization_id, owner_id, *fields.args())

    async def page(self, organization_id: str, limit: int, offset: int) -> tuple[int, list[asyncpg.Record]]:
        async with self._pool.acquire() as conn:
            try:
                total = await conn.fetchval(Q.count_schedules, organization_id)
                rows = await conn.fetch(Q.list_schedules, organization_id, limit, offset)
            except DRIVER_ERRORS as exc:
                raise translate(exc) from exc
        return total, rows

    async def get(self, organization_id: str, schedule_id: uuid.UUID) -> asyncpg.Record | None:
        return await self._fetchrow(Q.get_schedule, organization_id, schedule_id)

    async def update(
        self, organization_id: str, schedule_id: uuid.UUID, editor_id: str, fields: ScheduleFields, *, retimed: bool
    ) -> asyncpg.Record | None:
        """``retimed``: ``fields.next_run_at`` is new (cron, zone or paused changed); else the
        row keeps its own, which the scheduler may have moved on meanwhile."""
        return await self._fetchrow(Q.update_schedule, organization_id, schedule_id, editor_id, *fields.args(), retimed)

    async def delete(self, organization_id: str, schedule_id: uuid.UUID, editor_id: str) -> bool:
        return bool(await self._fetchval(Q.delete_schedule, organization_id, schedule_id, editor_id))


class FiringTransaction:
    """The scheduler's view of one transaction holding one due schedule's lock."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self._conn = conn

    async def lock_due_schedule(self) -> asyncpg.Record | None:
        return await self._conn.fetchrow(Q.lock_due_schedule)

    async def has_active_job(self, schedule_id: uuid.UUID) -> bool:
        return bool(await self._conn.fetchval(Q.schedule_has_active_job, schedule_id))

    async def access(self, organization_id: str, user_id: str, permissions: list[str]) -> Access:
        row = await self._conn.fetchrow(Q.access_for, organization_id, user_id, permissions)
        return Access(is_member=row["is_member"], granted=frozenset(row["granted"]))

    async def create_job(
        self, job: NewJob, schedule_id: uuid.UUID, fire_time: dt.datetime, quotas: JobQuotas
    ) -> uuid.UUID | None:
        """The firing's job; None when it exists already. ``QuotaExceeded`` when refused."""
        row = await self._conn.fetchrow(
            Q.create_scheduled_job,
            job.organization_id,
            job.user_id,
            job.job_type,
            job.priority,
            job.max_retries,
            job.payload,
            job.total_steps,
            schedule_id,
            quotas.max_queued_jobs,
            quotas.max_creations_per_minute,
            fire_time,
        )
        if row["refused"] is not None:
            raise job_refusal(row["refused"], row["quota"], row["retry_after"])
        return row["id"]

    async def fired(
        self,
        schedule_id: uuid.UUID,
        next_run_at: dt.datetime,
        last_run_at: dt.datetime | None,
        last_job_id: uuid.UUID | None,
        error: str | None,
    ) -> None:
        await self._conn.execute(Q.schedule_fired, schedule_id, next_run_at, last_run_at, last_job_id, error)


@asynccontextmanager
async def firing_transaction(pool: asyncpg.Pool) -> AsyncIterator[FiringTransaction]:
    """A transaction for one schedule's round; driver errors become ours."""
    try:
        async with pool.acquire() as conn, conn.transaction():
            yield FiringTransaction(conn)
    except DRIVER_ERRORS as exc:
        raise translate(exc) from exc
