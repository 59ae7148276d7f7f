"""The claim with many organizations: its cost does not grow with the number that have
backlog, the organizations take turns, and the per-organization counts of ready jobs stay
exact."""

from __future__ import annotations

import asyncpg

from jobrunner.db.sql import Q
from tests.support.jobs import add_organizations, insert_job
from tests.support.plans import nested_plans

RECOUNT = """
SELECT coalesce(array_agg(row(organization_id, ready)::text ORDER BY organization_id), '{}') FROM (
    SELECT organization_id, count(*) AS ready FROM jobs
     WHERE status IN ('queued', 'retrying') AND locked_by IS NULL GROUP BY organization_id) c"""

COUNTED = """
SELECT coalesce(array_agg(row(organization_id, ready)::text ORDER BY organization_id), '{}')
  FROM job_queue_orgs WHERE ready > 0"""

SUCCEED = """
UPDATE jobs SET status = 'succeeded', progress = 100, completed_at = now(), locked_by = NULL, locked_at = NULL
 WHERE id = ANY($1::uuid[])"""


async def claim(pool: asyncpg.Pool, limit: int, org_limit: int, worker: str = "w1") -> list[asyncpg.Record]:
    return await pool.fetch(Q.claim_jobs, worker, limit, org_limit)


async def test_organizations_take_turns(pool: asyncpg.Pool) -> None:
    # 30 organizations, their jobs inserted one organization after the other: by age alone
    # the first ten would be served again and again (one slot each).
    orgs = await add_organizations(pool, 30)
    for org in orgs:
        await pool.execute(
            "INSERT INTO jobs (organization_id, user_id, job_type, total_steps)"
            " SELECT $1, 'user_' || $1, 'test_work', 2 FROM generate_series(1, 5)",
            org,
        )
    served: list[set[str]] = []
    for _ in range(3):
        rows = await claim(pool, limit=10, org_limit=1)
        served.append({r["organization_id"] for r in rows})
        await pool.execute(SUCCEED, [r["id"] for r in rows])
    assert [len(s) for s in served] == [10, 10, 10]
    assert set().union(*served) == set(orgs)  # every organization once in three claims


async def test_claim_reads_few_organizations_however_many_have_backlog(pool: asyncpg.Pool) -> None:
    orgs = await add_organizations(pool, 3000)
    await pool.execute(
        "INSERT INTO jobs (organization_id, user_id, job_type, total_steps)"
        " SELECT o, 'user_' || o, 'test_work', 2 FROM unnest($1::text[]) o, generate_series(1, 2)",
        orgs,
    )
    await pool.execute("ANALYZE")
    rows, plans = await nested_plans(pool, Q.claim_jobs, "w1", 20, 5, analyze=True)
    assert len(rows) == 20
    plan = plans[plans.index("UPDATE jobs j") :]
    assert "job_queue_orgs_turn_idx" in plan and "jobs_held_idx" in plan, plan
    # The walk reads the ten organizations that give the twenty jobs, not all 3,000.
    probes = [line for line in plan.splitlines() if "Index Scan using jobs_ready_idx" in line]
    assert probes and all("loops=10)" in line for line in probes), plan
    assert "Seq Scan on jobs" not in plan, plan


async def test_counts_stay_exact_through_every_kind_of_change(pool: asyncpg.Pool) -> None:
    orgs = await add_organizations(pool, 4)
    for org in orgs:
        for _ in range(6):
            await insert_job(pool, org=org, user=f"user_{org}")
    assert await pool.fetchval(COUNTED) == await pool.fetchval(RECOUNT)
    claimed = await claim(pool, limit=100, org_limit=3)
    assert len(claimed) == 12
    assert await pool.fetchval(COUNTED) == await pool.fetchval(RECOUNT)
    await pool.execute(SUCCEED, [r["id"] for r in claimed[:5]])
    # A cancel of a held job keeps its slot until the worker lets go; a cancel of a queued one frees a ready.
    await pool.execute(
        "UPDATE jobs SET status = 'cancelled', cancelled_at = now(), completed_at = now() WHERE id = $1",
        claimed[6]["id"],
    )
    await pool.execute(
        "UPDATE jobs SET status = 'cancelled', cancelled_at = now(), completed_at = now()"
        " WHERE id = (SELECT id FROM jobs WHERE status = 'queued' LIMIT 1)"
    )
    assert await pool.fetchval(COUNTED) == await pool.fetchval(RECOUNT)
    await pool.execute("UPDATE jobs SET locked_by = NULL, locked_at = NULL WHERE status = 'cancelled'")
    await pool.execute("UPDATE jobs SET progress = 50 WHERE locked_by IS NOT NULL")  # changes no count
    await pool.execute("DELETE FROM jobs WHERE status IN ('succeeded', 'cancelled')")
    await pool.execute("DELETE FROM jobs WHERE id = (SELECT id FROM jobs WHERE status = 'queued' LIMIT 1)")
    assert await pool.fetchval(COUNTED) == await pool.fetchval(RECOUNT)
    # The limit still holds with the counts: 3 per organization, those held included.
    again = await claim(pool, limit=100, org_limit=3)
    held = await pool.fetch("SELECT organization_id, count(*) AS n FROM jobs WHERE locked_by IS NOT NULL GROUP BY 1")
    assert again and max(r["n"] for r in held) == 3
    assert await pool.fetchval(COUNTED) == await pool.fetchval(RECOUNT)
    await pool.execute("TRUNCATE jobs CASCADE")
    assert await pool.fetchval("SELECT count(*) FROM job_queue_orgs") == 0
