"""Integrations in the database (named statements in ``db/queries/integrations.sql``).
Secrets are stored sealed (``integrations/secrets.py``) and handed out opened."""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg

from jobrunner.db.sql import Q
from jobrunner.integrations.secrets import SecretBox


@dataclass(frozen=True, slots=True)
class Integration:
    organization_id: str
    name: str
    target_url: str
    secret: str


async def find_integration(
    db: asyncpg.Pool | asyncpg.Connection, box: SecretBox, organization_id: str, name: str
) -> Integration | None:
    row = await db.fetchrow(Q.find_integration, organization_id, name)
    if row is None:
        return None
    secret, stale = box.open(row["secret"])
    if stale:
        await db.execute(Q.reseal_integration_secret, organization_id, name, row["secret"], box.seal(secret))
    return Integration(organization_id, row["name"], row["target_url"], secret)
