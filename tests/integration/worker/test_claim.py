"""The claim function: order, scheduled jobs, the per-organization limit, fairness, plan."""

from __future__ import annotations

import asyncpg

from jobrunner.db.sql import Q
from tests.support.jobs import add_organizations, execute_unchecked, insert_job
from tests.support.plans import nested_plans


async def claim(pool: asyncpg.Pool, limit: int = 10, org_limit: int = 5, worker: str = "w1") -> list[asyncpg.Record]:
    return await pool.fetch(Q.claim_jobs, worker, limit, org_limit)


async def test_priority_first_then_oldest(pool: asyncpg.Pool) -> None:
    low_old = await insert_job(pool, priority=0)
    high = await insert_job(pool, priority=9)
    low_new = await insert_job(pool, priority=0)
    mid = await insert_job(pool, priority=5)
    rows = await claim(pool, limit=1)
    assert [r["id"] for r in rows] == [high]
    rows = await claim(pool, limit=10)
    assert [r["id"] for r in rows] == [mid, low_old, low_new]
    assert {r["status"] for r in rows} == {"running"}


async def test_scheduled_jobs_wait_until_due(pool: asyncpg.Pool) -> None:
    later = await insert_job(pool, delay=60)
    past = await insert_job(pool, delay=-1)
    rows = await claim(pool)
    assert [r["id"] for r in rows] == [past]
    seconds = await pool.fetchval(Q.next_scheduled_at)
    assert 58 < seconds <= 60
    await pool.execute("UPDATE jobs SET scheduled_at = now() - interval '1 s' WHERE id = $1", later)
    assert [r["id"] for r in await claim(pool)] == [later]


async def test_retrying_job_stays_retrying_when_claimed(pool: asyncpg.Pool) -> None:
    job_id = await insert_job(pool)
    await execute_unchecked(
        pool, "UPDATE jobs SET status = 'retrying', retry_count = 1, progress = 40 WHERE id = $1", job_id
    )
    [row] = await claim(pool)
    state = await pool.fetchrow("SELECT status, progress, locked_by, attempts FROM jobs WHERE id = $1", job_id)
    assert row["status"] == "retrying" and state["status"] == "retrying"
    assert state["progress"] == 0 and state["locked_by"] == "w1" and state["attempts"] == 1


async def test_org_limit_is_exact_and_counts_held_cancelled_jobs(pool: asyncpg.Pool) -> None:
    for _ in range(8):
        await insert_job(pool, org="org_acme")
    assert len(await claim(pool, limit=100, org_limit=5)) == 5
    assert await claim(pool, limit=100, org_limit=5, worker="w2") == []
    # A cancelled job whose processor is still stopping still holds its slot.
    await pool.execute(
        "UPDATE jobs SET status = 'cancelled', cancelled_at = now(), completed_at = now()"
        " WHERE id = (SELECT id FROM jobs WHERE locked_by = 'w1' LIMIT 1)"
    )
    assert await claim(pool, limit=100, org_limit=5) == []
    await pool.execute("UPDATE jobs SET locked_by = NULL WHERE status = 'cancelled'")
    assert len(await claim(pool, limit=100, org_limit=5)) == 1
    # The organization's own limit overrides the service-wide one.
    await pool.execute("UPDATE organizations SET max_concurrent_jobs = 7 WHERE id = 'org_acme'")
    assert len(await claim(pool, limit=100, org_limit=5)) == 2  # 5 held + 2 = 7


async def test_busy_tenant_does_not_hold_back_a_quiet_one(pool: asyncpg.Pool) -> None:
    await pool.execute(
        "INSERT INTO jobs (organization_id, user_id, job_type, priority, total_steps)"
        " SELECT 'org_acme', 'user_admin', 'test_work', 10, 2 FROM generate_series(1, 2000)"
    )
    quiet = await insert_job(pool, org="org_globex", user="user_globex", priority=0)
    rows = await claim(pool, limit=50, org_limit=5)
    assert quiet in {r["id"] for r in rows}
    assert len(rows) == 6


async def test_claim_uses_the_ready_index(pool: asyncpg.Pool) -> None:
    orgs = await add_organizations(pool, 20)
    await pool.execute(
        "INSERT INTO jobs (organization_id, user_id, job_type, total_steps)"
        " SELECT o, 'user_' || o, 'test_work', 2 FROM unnest($1::text[]) o, generate_series(1, 500)",
        orgs,
    )
    await pool.execute("ANALYZE jobs")
    # Plans of the function's statement are logged with auto_explain's nested statements.
    rows, plan = await nested_plans(pool, Q.claim_jobs, "w1", 50, 5)
    assert len(rows) == 50
    assert "jobs_ready_idx" in plan, plan
    assert "Seq Scan on jobs" not in plan, plan
