"""``jobrunner demo-data``: the demo identities plus customers and quotes for each
organization (default 5,000 quotes each; ``--quotes 1000000`` takes well under a minute).

With ``examples`` (what ``jobrunner run`` and ``jobrunner demo-data`` load) each
organization also gets two job templates, so the jobs page's "Start from a template" has
something to offer, and one recurring schedule, **paused**: nothing seeded starts a job
by itself."""

from __future__ import annotations

import asyncio

from dataclasses import dataclass
from typing import Any

import asyncpg

from jobrunner.db.pool import connect
from jobrunner.db.seed import DEMO_ORGANIZATIONS, DEMO_USERS, seed_identities
from jobrunner.db.sql import Q

# export_report's declared max_retries: templates and schedules store it resolved.
EXPORT_MAX_RETRIES = 3


@dataclass(frozen=True)
class DemoTemplate:
    name: str
    payload: dict[str, Any]
    priority: int
    job_type: str = "export_report"


DEMO_TEMPLATES = (
    DemoTemplate(
        "Quotes Q4 2025 (CSV)",
        {"reportType": "quotes", "format": "csv", "filters": {"dateFrom": "2025-10-01", "dateTo": "2025-12-31"}},
        priority=5,
    ),
    DemoTemplate("All customers (Excel)", {"reportType": "customers", "format": "xlsx"}, priority=0),
)


@dataclass(frozen=True)
class DemoSchedule:
    cron: str
    timezone: str
    payload: dict[str, Any]
    priority: int
    job_type: str = "export_report"


# Mondays at 6:00 in Paris, every quote as a spreadsheet; created paused.
DEMO_SCHEDULE = DemoSchedule("0 6 * * 1", "Europe/Paris", {"reportType": "quotes", "format": "xlsx"}, priority=3)

# Who owns an organization's demo templates and schedule: its administrator.
DEMO_OWNERS = {user.organization_id: user.user_id for user in DEMO_USERS if user.role == "admin"}


def customers_for(quotes_per_org: int) -> int:
    """About one customer per ten quotes, at least 50, at most 50,000."""
    return max(50, min(50_000, quotes_per_org // 10))


async def load_demo_data(database_url: str, quotes_per_org: int = 5000, *, examples: bool = False) -> None:
    """Identities, customers and quotes; with ``examples``, the demo templates and the
    paused schedule too. Re-running tops up and duplicates nothing."""
    conn = await connect(database_url)
    try:
        await seed_identities(conn)
        if examples:
            await seed_examples(conn)
    finally:
        await conn.close()
    # One connection per organization: the inserts run on both cores at once.
    await asyncio.gather(*(_load_organization(database_url, org, quotes_per_org) for org in DEMO_ORGANIZATIONS))


async def seed_examples(conn: asyncpg.Connection) -> None:
    """Each demo organization's job templates (kept when one of that name exists) and its
    paused schedule (only when the organization has no schedule), owned by its admin."""
    async with conn.transaction():
        for organization_id, owner in DEMO_OWNERS.items():
            for template in DEMO_TEMPLATES:
                await conn.execute(
                    Q.demo_template,
                    organization_id,
                    owner,
                    template.name,
                    template.job_type,
                    template.payload,
                    template.priority,
                    EXPORT_MAX_RETRIES,
                )
            schedule = DEMO_SCHEDULE
            await conn.execute(
                Q.demo_paused_schedule,
                organization_id,
                owner,
                schedule.cron,
                schedule.timezone,
                schedule.job_type,
                schedule.payload,
                schedule.priority,
                EXPORT_MAX_RETRIES,
            )


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
