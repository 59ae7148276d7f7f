"""``jobrunner demo-data``: the demo identities plus customers and quotes for each
organization (default 5,000 quotes each; ``--quotes 1000000`` takes well under a minute)."""

from __future__ import annotations

import asyncio

from jobrunner.db.pool import connect
from jobrunner.db.seed import DEMO_ORGANIZATIONS, seed_identities
from jobrunner.db.sql import Q


def customers_for(quotes_per_org: int) -> int:
    """About one customer per ten quotes, at least 50, at most 50,000."""
    return max(50, min(50_000, quotes_per_org // 10))


async def load_demo_data(database_url: str, quotes_per_org: int = 5000) -> None:
    conn = await connect(database_url)
    try:
        await seed_identities(conn)
    finally:
        await conn.close()
    # One connection per organization: the inserts run on both cores at once.
    await asyncio.gather(*(_load_organization(database_url, org, quotes_per_org) for org in DEMO_ORGANIZATIONS))


async def _load_organization(database_url: str, organization_id: str, quotes: int) -> None:
    conn = await connect(database_url)
    try:
        async with conn.transaction():
            await conn.execute(Q.demo_customers, organization_id, customers_for(quotes))
            await conn.execute(Q.demo_quotes, organization_id, quotes)
        await conn.execute(Q.analyze_demo_tables)
    finally:
        await conn.close()


async def database_is_empty(database_url: str) -> bool:
    conn = await connect(database_url)
    try:
        return await conn.fetchval(Q.count_quotes) == 0
    finally:
        await conn.close()
