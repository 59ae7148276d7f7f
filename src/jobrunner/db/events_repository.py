"""The event streams' database access (db/queries/events.sql): the watched jobs by
primary key, a user's jobs changed since a moment or still unfinished, and which stream
owners may still see their jobs."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass

import asyncpg

from jobrunner.db.errors import DRIVER_ERRORS, translate
from jobrunner.db.sql import Q

Owner = tuple[str, str]
"""(organization id, user id)"""


@dataclass(frozen=True, slots=True)
class JobFilter:
    """A list stream's filters, as the list endpoint's (None: any)."""

    status: str | None = None
    job_type: str | None = None


class EventsRepository:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def jobs(self, ids: Sequence[uuid.UUID | str]) -> list[asyncpg.Record]:
        return await self._fetch(Q.event_jobs, list(ids))

    async def changed_since(
        self, owner: Owner, where: JobFilter, since: dt.datetime, limit: int
    ) -> list[asyncpg.Record]:
        return await self._fetch(Q.changed_jobs_of_owner, *owner, where.status, where.job_type, since, limit)

    async def active(self, owner: Owner, where: JobFilter, limit: int) -> list[asyncpg.Record]:
        return await self._fetch(Q.active_jobs_of_owner, *owner, where.status, where.job_type, limit)

    async def still_allowed(self, owners: Collection[Owner], permission: str) -> set[Owner]:
        orgs = [org for org, _ in owners]
        users = [user for _, user in owners]
        rows = await self._fetch(Q.owners_still_allowed, orgs, users, permission)
        return {(row["organization_id"], row["user_id"]) for row in rows}

    async def _fetch(self, query: str, *args: object) -> list[asyncpg.Record]:
        try:
            return await self._pool.fetch(query, *args)
        except DRIVER_ERRORS as exc:
            raise translate(exc) from exc
