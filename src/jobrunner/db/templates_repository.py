"""Job templates in the database (named statements in ``db/queries/templates.sql``),
scoped by organization; every change writes its audit row in the same statement."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import asyncpg

from jobrunner.db.errors import DRIVER_ERRORS, translate
from jobrunner.db.sql import Q
from jobrunner.domain.errors import Conflict

NAME_TAKEN = "the organization already has a template with this name"


@dataclass(frozen=True, slots=True)
class TemplateFields:
    """What a template holds (the service has validated it)."""

    name: str
    job_type: str
    payload: dict[str, Any]
    priority: int
    max_retries: int


class TemplatesRepository:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def insert(self, organization_id: str, user_id: str, fields: TemplateFields) -> asyncpg.Record:
        row = await self._run(
            self._pool.fetchrow,
            Q.insert_template,
            organization_id,
            user_id,
            fields.name,
            fields.job_type,
            fields.payload,
            fields.priority,
            fields.max_retries,
        )
        if row is None:
            raise Conflict(NAME_TAKEN)
        return row

    async def page(self, organization_id: str, limit: int, offset: int) -> tuple[int, list[asyncpg.Record]]:
        async with self._pool.acquire() as conn:
            total = await self._run(conn.fetchval, Q.count_templates, organization_id)
            rows = await self._run(conn.fetch, Q.list_templates, organization_id, limit, offset)
        return total, rows

    async def get(self, organization_id: str, template_id: uuid.UUID) -> asyncpg.Record | None:
        return await self._run(self._pool.fetchrow, Q.get_template, organization_id, template_id)

    async def update(
        self, organization_id: str, user_id: str, template_id: uuid.UUID, fields: TemplateFields, changed: list[str]
    ) -> asyncpg.Record | None:
        """The template as changed, or None when it is gone; ``changed`` names the fields
        the caller sent (for the audit row)."""
        try:
            return await self._run(
                self._pool.fetchrow,
                Q.update_template,
                organization_id,
                user_id,
                template_id,
                fields.name,
                fields.job_type,
                fields.payload,
                fields.priority,
                fields.max_retries,
                changed,
            )
        except asyncpg.UniqueViolationError:
            raise Conflict(NAME_TAKEN) from None

    async def delete(self, organization_id: str, user_id: str, template_id: uuid.UUID) -> bool:
        return bool(await self._run(self._pool.fetchval, Q.delete_template, organization_id, user_id, template_id))

    @staticmethod
    async def _run(call: Any, *args: Any) -> Any:
        try:
            return await call(*args)
        except asyncpg.UniqueViolationError:
            raise
        except DRIVER_ERRORS as exc:
            raise translate(exc) from exc
