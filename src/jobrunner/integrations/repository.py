"""Integrations in the database (named statements in ``db/queries/integrations.sql``)."""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg

from jobrunner.db.sql import Q


@dataclass(frozen=True, slots=True)
class Integration:
    organization_id: str
    name: str
    target_url: str
    secret: str


async def find_integration(db: asyncpg.Pool | asyncpg.Connection, organization_id: str, name: str) -> Integration | None:
    row = await db.fetchrow(Q.find_integration, organization_id, name)
    return Integration(**dict(row)) if row else None
