"""The jobs API's database access: named statements in, plain records out, driver errors
turned into our own errors (``raise ... from exc``)."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg

from jobrunner.auth.rbac import Access
from jobrunner.db.errors import DRIVER_ERRORS, DatabaseError, translate
from jobrunner.db.sql import Q
from jobrunner.domain.quotas import JobQuotas, job_refusal

NO_QUOTAS = JobQuotas()

__all__ = ["DatabaseError", "JobsRepository", "NewJob", "Transition"]


@dataclass(frozen=True, slots=True)
class NewJob:
    organization_id: str
    user_id: str
    job_type: str
    priority: int
    max_retries: int
    payload: dict[str, Any]
    total_steps: int | None
    scheduled_at: dt.datetime | None
    callback_url: str | None = None
    """None: the organization's default callback URL, if it has one."""


@dataclass(frozen=True, slots=True)
class Transition:
    """The outcome of a guarded update: did the caller's job exist, did it change."""

    found: bool
    changed: bool


class JobsRepository:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def access(self, organization_id: str, user_id: str, permissions: Sequence[str]) -> Access:
        row = await self._fetchrow(Q.access_for, organization_id, user_id, list(permissions))
        return Access(is_member=row["is_member"], granted=frozenset(row["granted"]))

    async def job_with_access(
        self, organization_id: str, user_id: str, permission: str, job_id: uuid.UUID
    ) -> asyncpg.Record:
        """One row: ``is_member``, ``allowed`` and the job's columns (``id`` is NULL when
        the job is not the caller's or the permission is missing)."""
        return await self._fetchrow(Q.job_with_access, organization_id, user_id, permission, job_id)

    async def create(self, job: NewJob, quotas: JobQuotas = NO_QUOTAS) -> uuid.UUID:
        """Insert the job if the organization's quotas admit it (``QuotaExceeded`` if
        not); ``quotas`` are the settings' limits, organization_limits overrides them."""
        row = await self._fetchrow(
            Q.create_job,
            job.organization_id,
            job.user_id,
            job.job_type,
            job.priority,
            job.max_retries,
            job.payload,
            job.total_steps,
            job.scheduled_at,
            quotas.max_queued_jobs,
            quotas.max_creations_per_minute,
            job.callback_url,
        )
        if row["refused"] is not None:
            raise job_refusal(row["refused"], row["quota"], row["retry_after"])
        return row["id"]

    async def list_page(
        self,
        organization_id: str,
        user_id: str,
        *,
        status: str | None,
        job_type: str | None,
        limit: int,
        offset: int,
        field_max_bytes: int,
        id_prefix: str | None = None,
    ) -> tuple[int, list[asyncpg.Record]]:
        """One page; payloads and results longer than ``field_max_bytes`` are NULL and
        named in each row's ``omitted``. ``id_prefix``: only jobs whose id starts so."""
        async with self._pool.acquire() as conn:
            try:
                total = await conn.fetchval(Q.count_jobs, organization_id, user_id, status, job_type, id_prefix)
                rows = await conn.fetch(
                    Q.list_jobs, organization_id, user_id, status, job_type, limit, offset, field_max_bytes, id_prefix
                )
            except DRIVER_ERRORS as exc:
                raise translate(exc) from exc
        return total, rows

    async def webhook_deliveries(self, job_id: uuid.UUID) -> list[asyncpg.Record]:
        try:
            return await self._pool.fetch(Q.job_webhook_deliveries, job_id)
        except DRIVER_ERRORS as exc:
            raise translate(exc) from exc

    async def cancel(self, organization_id: str, user_id: str, job_id: uuid.UUID) -> Transition:
        row = await self._fetchrow(Q.cancel_job, organization_id, user_id, job_id)
        return Transition(found=row["found"], changed=row["changed"])

    async def retry(self, organization_id: str, user_id: str, job_id: uuid.UUID) -> Transition:
        row = await self._fetchrow(Q.retry_job, organization_id, user_id, job_id)
        return Transition(found=row["found"], changed=row["changed"])

    async def _fetchrow(self, query: str, *args: Any) -> asyncpg.Record:
        try:
            return await self._pool.fetchrow(query, *args)
        except DRIVER_ERRORS as exc:
            raise translate(exc) from exc

    async def _fetchval(self, query: str, *args: Any) -> Any:
        try:
            return await self._pool.fetchval(query, *args)
        except DRIVER_ERRORS as exc:
            raise translate(exc) from exc
