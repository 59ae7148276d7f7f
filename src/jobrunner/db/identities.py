"""Looking up users and their organizations (for the token command and the demo)."""

from __future__ import annotations

from jobrunner.db.pool import connect
from jobrunner.db.sql import Q


async def find_membership(database_url: str, user_id: str, organization_id: str | None) -> str | None:
    conn = await connect(database_url)
    try:
        return await conn.fetchval(Q.find_membership, user_id, organization_id)
    finally:
        await conn.close()
