"""Jobs waiting on dependencies (blocked_by > 0, migration 0010) are outside the claim's
reach: not counted as ready in job_queue_orgs, not in jobs_ready_idx, so a claim neither
returns nor reads them however many there are."""

from __future__ import annotations

import asyncpg

from jobrunner.db.sql import Q
from tests.support.jobs import add_organizations
from tests.support.plans import nested_plans

ADD = """
INSERT INTO jobs (organization_id, user_id, job_type, total_steps, blocked_by, depends_on)
SELECT $1, 'user_' || $1, 'test_work', 2, $3, '[]' FROM generate_series(1, $2)"""


async def test_the_claim_plan_never_reads_blocked_rows(pool: asyncpg.Pool) -> None:
    blocked_only, mixed = await add_organizations(pool, 2)
    await pool.execute(ADD, blocked_only, 2000, 1)
    await pool.execute(ADD, mixed, 2000, 1)
    await pool.execute(ADD, mixed, 3, 0)
    await pool.execute("ANALYZE jobs")
    # The organization with only blocked work is not in the claim's walk at all.
    ready = dict(await pool.fetch("SELECT organization_id, ready FROM job_queue_orgs"))
    assert ready.get(blocked_only, 0) == 0 and ready[mixed] == 3
    rows, plans = await nested_plans(pool, Q.claim_jobs, "w1", 50, 50, analyze=True)
    assert {r["organization_id"] for r in rows} == {mixed} and len(rows) == 3
    plan = plans[plans.index("UPDATE jobs j") :]
    assert "Seq Scan on jobs" not in plan, plan
    # One probe of the ready index, for the one organization with ready work, reading its
    # three ready rows: none of the 4,000 blocked ones is read and filtered out.
    scan = plan.splitlines()
    probes = [n for n, line in enumerate(scan) if "Index Scan using jobs_ready_idx" in line]
    assert len(probes) == 1 and "rows=3 loops=1)" in scan[probes[0]], plan
    assert "Rows Removed by Filter" not in "\n".join(scan[probes[0] : probes[0] + 4]), plan
    assert "blocked_by = 0" in await pool.fetchval("SELECT pg_get_indexdef('jobs_ready_idx'::regclass)")
    # Nothing left to claim: the blocked jobs stay where they are.
    assert await pool.fetch(Q.claim_jobs, "w1", 50, 50) == []


async def test_an_unblocked_job_is_claimed_and_counted(pool: asyncpg.Pool) -> None:
    (org,) = await add_organizations(pool, 1)
    await pool.execute(ADD, org, 2, 1)
    assert await pool.fetch(Q.claim_jobs, "w1", 10, 5) == []
    assert await pool.fetchval("SELECT ready FROM job_queue_orgs WHERE organization_id = $1", org) in (None, 0)
    await pool.execute("UPDATE jobs SET blocked_by = 0 WHERE id = (SELECT min(id::text)::uuid FROM jobs)")
    assert await pool.fetchval("SELECT ready FROM job_queue_orgs WHERE organization_id = $1", org) == 1
    assert len(await pool.fetch(Q.claim_jobs, "w1", 10, 5)) == 1
    assert await pool.fetchval("SELECT ready FROM job_queue_orgs WHERE organization_id = $1", org) == 0
