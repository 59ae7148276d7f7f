"""The console's list is cheap in a large organization: each search takes the index it
allows (newest first by organization, an owner's range, the primary key for an id
prefix), never a scan of the jobs table."""

from __future__ import annotations

import uuid

import asyncpg
import pytest

from jobrunner.db.sql import Q

ORG_ARGS = ["org_acme", None, None, None, None, None, None, None, None]


async def _plan(conn: asyncpg.Connection, statement: str, *args) -> str:
    await conn.execute("SET plan_cache_mode = force_custom_plan")  # as AdminRepository runs them
    rows = await conn.fetch(f"EXPLAIN {statement}", *args)
    return "\n".join(row[0] for row in rows)


@pytest.fixture
async def big(pool: asyncpg.Pool) -> asyncpg.Pool:
    async with pool.acquire() as conn:
        await conn.execute(
            "INSERT INTO jobs (organization_id, user_id, job_type, status, completed_at, created_at) "
            "SELECT CASE WHEN i % 2 = 0 THEN 'org_acme' ELSE 'org_globex' END, "
            "       CASE WHEN i % 2 = 0 THEN 'user_member' ELSE 'user_globex' END, 'notification', "
            "       'succeeded', now(), now() - make_interval(secs => i) "
            "  FROM generate_series(1, 20000) i"
        )
        await conn.execute("ANALYZE jobs")
    return pool


async def test_the_organizations_newest_jobs(big: asyncpg.Pool) -> None:
    async with big.acquire() as conn:
        plan = await _plan(conn, Q.admin_list_jobs, *ORG_ARGS, 25, 0)
    assert "jobs_org_created_idx" in plan, plan
    assert "Seq Scan" not in plan and "Sort" not in plan, plan


async def test_an_id_prefix_uses_the_primary_key(big: asyncpg.Pool) -> None:
    low, high = uuid.UUID("abcd0000000000000000000000000000"), uuid.UUID("abcdffffffffffffffffffffffffffff")
    args = list(ORG_ARGS)
    args[1:3] = [low, high]
    async with big.acquire() as conn:
        for statement, extra in ((Q.admin_list_jobs, (25, 0)), (Q.admin_count_jobs, (10001,))):
            plan = await _plan(conn, statement, *args, *extra)
            assert "jobs_pkey" in plan, plan
            assert "Seq Scan" not in plan, plan


async def test_a_created_range_is_an_index_range(big: asyncpg.Pool) -> None:
    args = list(ORG_ARGS)
    async with big.acquire() as conn:
        window = await conn.fetchrow("SELECT now() - interval '100 seconds' AS a, now() - interval '50 seconds' AS b")
        args[6:8] = [window["a"], window["b"]]
        plan = await _plan(conn, Q.admin_count_jobs, *args, 10001)
    assert "jobs_org_created_idx" in plan and "Index Cond" in plan, plan
    assert "Seq Scan" not in plan, plan
