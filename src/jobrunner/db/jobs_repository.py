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
from jobrunner.domain.dependencies import DependencyRef, Resolved, resolve
from jobrunner.domain.errors import Conflict
from jobrunner.domain.quotas import JobQuotas, job_refusal

NO_QUOTAS = JobQuotas()

__all__ = ["DatabaseError", "IdempotentAnswer", "JobsRepository", "NewJob", "StoredAnswer", "Transition"]


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
    template_id: uuid.UUID | None = None
    depends_on: tuple[DependencyRef, ...] = ()
    # None: the organization's default callback URL, if it has one.
    callback_url: str | None = None
    # Chosen by the caller (an idempotent creation); None: the database picks one.
    id: uuid.UUID | None = None


@dataclass(frozen=True, slots=True)
class IdempotentAnswer:
    """The answer an idempotent creation stores with its key (``ttl_seconds``: how long a
    stored answer counts)."""

    key: str
    request_hash: bytes
    ttl_seconds: float
    status: int
    body: dict[str, Any]


@dataclass(frozen=True, slots=True)
class StoredAnswer:
    """A key's stored answer: replayed to a request with the same key and body."""

    request_hash: bytes
    job_id: uuid.UUID
    status: int
    body: dict[str, Any]


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
        not); ``quotas`` are the settings' limits, organization_limits overrides them.
        With dependencies, they are checked and marked in the same transaction
        (``NotFound``/``InvalidInput`` as ``domain.dependencies.resolve`` decides); one
        that already failed or was cancelled cancels the new job at once."""
        try:
            if not job.depends_on:
                return await _insert_job(self._pool, job, quotas)
            async with self._pool.acquire() as conn, conn.transaction():
                return await _insert_job(conn, job, quotas)
        except DRIVER_ERRORS as exc:
            raise translate(exc) from exc

    async def stored_answer(
        self, organization_id: str, user_id: str, key: str, ttl_seconds: float
    ) -> StoredAnswer | None:
        """The live answer stored with an idempotency key, if any."""
        return _stored(await self._fetchrow(Q.find_idempotency_key, organization_id, user_id, key, ttl_seconds))

    async def create_idempotent(self, job: NewJob, quotas: JobQuotas, answer: IdempotentAnswer) -> StoredAnswer | None:
        """Take the key and create the job (``job.id`` set) in one transaction: both or
        neither (a refused job, e.g. a quota, leaves the key free). None when the job was
        created; the stored answer when another request holds the key (a concurrent one
        with the same key waits for it to commit, then gets its answer here)."""
        async with self._pool.acquire() as conn:
            try:
                async with conn.transaction():
                    taken = await conn.fetchval(
                        Q.take_idempotency_key,
                        job.organization_id,
                        job.user_id,
                        answer.key,
                        answer.ttl_seconds,
                        answer.request_hash,
                        job.id,
                        answer.status,
                        answer.body,
                    )
                    if not taken:
                        row = await conn.fetchrow(
                            Q.find_idempotency_key, job.organization_id, job.user_id, answer.key, answer.ttl_seconds
                        )
                        stored = _stored(row)
                        if stored is None:  # expired between the two statements
                            raise Conflict("the idempotency key is being reused; try again")
                        return stored
                    await _insert_job(conn, job, quotas)
            except DRIVER_ERRORS as exc:
                raise translate(exc) from exc
        return None

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


async def _insert_job(db: asyncpg.Pool | asyncpg.Connection, job: NewJob, quotas: JobQuotas) -> uuid.UUID:
    """Insert ``job`` (on a connection in a transaction when it has dependencies)."""
    resolved = await _resolve_dependencies(db, job) if job.depends_on else Resolved([], 0)
    row = await db.fetchrow(
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
        job.template_id,
        job.id,
        resolved.depends_on,
        resolved.blocked_by,
        job.callback_url,
    )
    if row["refused"] is not None:
        raise job_refusal(row["refused"], row["quota"], row["retry_after"])
    if resolved.ended is not None:
        ended = resolved.ended
        await db.execute(Q.cancel_for_ended_dependency, row["id"], ended.job_id, ended.job_type, ended.status)
    job_id: uuid.UUID = row["id"]
    return job_id


async def _resolve_dependencies(db: asyncpg.Pool | asyncpg.Connection, job: NewJob) -> Resolved:
    rows = await db.fetch(Q.mark_dependencies, job.organization_id, job.user_id, [ref.job_id for ref in job.depends_on])
    return resolve(job.depends_on, {row["id"]: (row["job_type"], row["status"]) for row in rows})


def _stored(row: asyncpg.Record | None) -> StoredAnswer | None:
    if row is None:
        return None
    return StoredAnswer(
        request_hash=bytes(row["request_hash"]),
        job_id=row["job_id"],
        status=row["response_status"],
        body=row["response_body"],
    )
