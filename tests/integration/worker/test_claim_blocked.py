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


async def test_a_blocked_job_due_long_ago_does_not_wake_an_idle_worker(pool: asyncpg.Pool) -> None:
    """An idle worker sleeps until the earliest due job (next_scheduled_at): a blocked
    one, even past due, must not count, or the worker would wake at once, again and again."""
    (org,) = await add_organizations(pool, 1)
    await pool.execute(ADD, org, 3, 1)
    await pool.execute("UPDATE jobs SET scheduled_at = now() - interval '1 hour'")
    assert await pool.fetchval(Q.next_scheduled_at) is None
    await pool.execute(ADD, org, 1, 0)
    await pool.execute("UPDATE jobs SET scheduled_at = now() + interval '1 hour' WHERE blocked_by = 0")
    assert 3500 < await pool.fetchval(Q.next_scheduled_at) <= 3600
    # Served by the wake-up index, whose predicate the query repeats (2,000 other jobs).
    await pool.execute(ADD, org, 2000, 0)
    await pool.execute("ANALYZE jobs")
    plan = "\n".join(r[0] for r in await pool.fetch("EXPLAIN " + Q.next_scheduled_at))
    assert "jobs_scheduled_idx" in plan and "Seq Scan" not in plan, plan


async def test_the_queue_figures_use_the_ready_index_and_leave_blocked_jobs_out(pool: asyncpg.Pool) -> None:
    """The console's queue and the metrics count jobs waiting for a worker through
    jobs_ready_idx's predicate; jobs waiting on other jobs are not among them."""
    (org,) = await add_organizations(pool, 1)
    await pool.execute(ADD, org, 3000, 1)
    await pool.execute(ADD, org, 2, 0)
    await pool.execute("ANALYZE jobs")
    waiting = await pool.fetch(Q.admin_queue_waiting, org)
    assert [(r["job_type"], r["due"]) for r in waiting] == [("test_work", 2)]
    assert [r["jobs"] for r in await pool.fetch(Q.metrics_top_backlog, 10)] == [2]
    for statement, args in ((Q.admin_queue_waiting, [org]), (Q.metrics_top_backlog, [10]), (Q.metrics_active_jobs, [])):
        plan = "\n".join(r[0] for r in await pool.fetch("EXPLAIN " + statement, *args))
        assert "jobs_ready_idx" in plan and "Seq Scan on jobs" not in plan, plan


async def test_the_flow_controlled_claim_leaves_blocked_jobs_too(pool: asyncpg.Pool) -> None:
    """With flow control on (migration 0014's second claim), a job waiting on its
    dependencies is not claimed either, and its ready siblings are."""
    (org,) = await add_organizations(pool, 1)
    await pool.execute(ADD, org, 5, 1)
    await pool.execute(ADD, org, 2, 0)
    await pool.execute("INSERT INTO organization_tiers VALUES ($1, 'pro')", org)
    assert await pool.fetchval("SELECT active FROM flow_control")
    claimed = await pool.fetch(Q.claim_jobs, "w1", 50, 50)
    assert len(claimed) == 2 and all(r["organization_id"] == org for r in claimed)
    assert await pool.fetchval("SELECT count(*) FROM jobs WHERE blocked_by > 0 AND locked_by IS NULL") == 5
    assert await pool.fetch(Q.claim_jobs, "w2", 50, 50) == []
