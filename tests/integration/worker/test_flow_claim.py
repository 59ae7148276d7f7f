"""Flow control in the claim (migration 0014): job-type caps, tiers, weighted turns, rate
limits, circuit breakers. The claim statement itself, on a real database."""

from __future__ import annotations

import uuid
from collections import Counter

import asyncpg

from jobrunner.db.sql import Q
from tests.support.jobs import add_organizations
from tests.support.plans import nested_plans

FINISH = Q.finish_jobs


async def claim(pool: asyncpg.Pool, limit: int = 100, org_limit: int = 5, worker: str = "w1") -> list[asyncpg.Record]:
    return await pool.fetch(Q.claim_jobs, worker, limit, org_limit)


async def add_jobs(pool: asyncpg.Pool, org: str, job_type: str, count: int, priority: int = 0) -> None:
    await pool.execute(
        "INSERT INTO jobs (organization_id, user_id, job_type, priority, total_steps)"
        " SELECT $1, (SELECT user_id FROM organization_members WHERE organization_id = $1 LIMIT 1),"
        " $2, $4, 2 FROM generate_series(1, $3)",
        org,
        job_type,
        count,
        priority,
    )


async def finish(pool: asyncpg.Pool, rows: list[asyncpg.Record], status: str, worker: str = "w1") -> None:
    """Record the outcome of held jobs as a worker does (finish_jobs)."""
    ids = [r["id"] for r in rows]
    n = len(ids)
    await pool.fetch(FINISH, worker, ids, [status] * n, [None] * n, ["boom"] * n, [0.0] * n, [1] * n)


async def active(pool: asyncpg.Pool) -> bool:
    return await pool.fetchval("SELECT active FROM flow_control")


async def test_nothing_configured_keeps_the_plain_claim(pool: asyncpg.Pool) -> None:
    assert not await active(pool)
    await pool.execute("INSERT INTO job_type_limits (job_type) VALUES ('export_report')")  # no cap set
    assert not await active(pool)
    await pool.execute("UPDATE job_type_limits SET max_running = 4")
    assert await active(pool)
    await pool.execute("DELETE FROM job_type_limits")
    assert not await active(pool)
    await pool.execute("INSERT INTO organization_tiers VALUES ('org_acme', 'free')")
    assert await active(pool)
    changes = await pool.fetch("SELECT subject, operation FROM flow_changes ORDER BY id")
    assert [tuple(c) for c in changes] == [
        ("job_type_limits", "insert"),
        ("job_type_limits", "update"),
        ("job_type_limits", "delete"),
        ("organization_tiers", "insert"),
    ]


async def test_cluster_cap_per_job_type_holds_across_organizations(pool: asyncpg.Pool) -> None:
    orgs = await add_organizations(pool, 5)
    for org in orgs:
        await add_jobs(pool, org, "export_report", 3)
        await add_jobs(pool, org, "notification", 1)
    await pool.execute("INSERT INTO job_type_limits (job_type, max_running) VALUES ('export_report', 4)")
    rows = await claim(pool)
    kinds = Counter(r["job_type"] for r in rows)
    # The cap holds, and the other type is not held back by it.
    assert kinds == {"export_report": 4, "notification": 5}
    assert await claim(pool, worker="w2") == []
    await finish(pool, [r for r in rows if r["job_type"] == "export_report"][:1], "succeeded")
    again = await claim(pool, worker="w2")
    assert [r["job_type"] for r in again] == ["export_report"]


async def test_per_organization_cap_per_job_type(pool: asyncpg.Pool) -> None:
    await add_jobs(pool, "org_acme", "export_report", 5, priority=9)
    await add_jobs(pool, "org_acme", "notification", 2)
    await pool.execute("INSERT INTO job_type_limits (job_type, max_running_per_org) VALUES ('export_report', 2)")
    rows = await claim(pool, org_limit=10)
    assert Counter(r["job_type"] for r in rows) == {"export_report": 2, "notification": 2}


async def test_tier_sets_the_organization_limit_at_run_time(pool: asyncpg.Pool) -> None:
    await add_jobs(pool, "org_acme", "test_work", 30)
    await pool.execute("INSERT INTO organization_tiers VALUES ('org_acme', 'free')")
    assert len(await claim(pool, org_limit=5)) == 1
    await pool.execute("UPDATE organization_tiers SET tier = 'enterprise'")
    assert len(await claim(pool, org_limit=5)) == 19  # 20 in all
    # The organization's own override still wins over its tier.
    await pool.execute("UPDATE organizations SET max_concurrent_jobs = 22 WHERE id = 'org_acme'")
    assert len(await claim(pool, org_limit=5)) == 2


async def test_weight_three_gets_three_times_the_slots_under_contention(pool: asyncpg.Pool) -> None:
    await add_organizations(pool, 2, prefix="org_w")
    await pool.execute("INSERT INTO flow_tiers (name, max_running, weight) VALUES ('big', 100, 3), ('small', 100, 1)")
    await pool.execute("INSERT INTO organization_tiers VALUES ('org_w0', 'big'), ('org_w1', 'small')")
    await add_jobs(pool, "org_w0", "test_work", 60)
    await add_jobs(pool, "org_w1", "test_work", 60)
    taken: Counter[str] = Counter()
    # A worker with one free slot at a time (the hardest case for turns) ...
    for _ in range(40):
        [row] = await claim(pool, limit=1)
        taken[row["organization_id"]] += 1
    assert taken == {"org_w0": 30, "org_w1": 10}
    # ... and one taking batches.
    taken.clear()
    for _ in range(4):
        for row in await claim(pool, limit=8):
            taken[row["organization_id"]] += 1
    assert taken == {"org_w0": 24, "org_w1": 8}


async def test_equal_weights_alternate(pool: asyncpg.Pool) -> None:
    await add_organizations(pool, 3, prefix="org_e")
    for org in ("org_e0", "org_e1", "org_e2"):
        await pool.execute("INSERT INTO organization_tiers VALUES ($1, 'pro')", org)
        await add_jobs(pool, org, "test_work", 10)
    firsts = [(await claim(pool, limit=1))[0]["organization_id"] for _ in range(6)]
    assert Counter(firsts) == {"org_e0": 2, "org_e1": 2, "org_e2": 2}


async def test_rate_limit_per_organization_and_type(pool: asyncpg.Pool) -> None:
    await add_jobs(pool, "org_acme", "notification", 10)
    await add_jobs(pool, "org_globex", "notification", 10)
    await add_jobs(pool, "org_acme", "test_work", 2)
    await pool.execute(
        "INSERT INTO rate_limits (job_type, per_organization, max_starts, period_seconds)"
        " VALUES ('notification', true, 3, 3600)"
    )
    rows = await claim(pool, org_limit=100)
    count = Counter((r["organization_id"], r["job_type"]) for r in rows)
    assert count == {("org_acme", "notification"): 3, ("org_globex", "notification"): 3, ("org_acme", "test_work"): 2}
    await finish(pool, rows, "succeeded")
    # Finished or not, the window is used up: nothing more this hour.
    assert await claim(pool, org_limit=100) == []
    # The next window (moved here by ageing the current one) starts again.
    await pool.execute("UPDATE rate_limit_windows SET window_start = window_start - interval '1 hour'")
    assert len(await claim(pool, org_limit=100)) == 6


async def test_rate_limit_for_the_cluster_and_all_types(pool: asyncpg.Pool) -> None:
    await add_jobs(pool, "org_acme", "notification", 10)
    await add_jobs(pool, "org_globex", "test_work", 10)
    await pool.execute(
        "INSERT INTO rate_limits (job_type, per_organization, max_starts, period_seconds) VALUES (NULL, false, 5, 3600)"
    )
    first = await claim(pool, limit=3, org_limit=100)
    second = await claim(pool, limit=10, org_limit=100, worker="w2")
    assert len(first) == 3 and len(second) == 2
    assert await claim(pool, org_limit=100, worker="w3") == []
    assert await pool.fetchval("SELECT starts FROM rate_limit_windows WHERE organization_id = ''") == 5


async def test_blocked_type_at_the_head_does_not_hold_back_the_next(pool: asyncpg.Pool) -> None:
    await add_jobs(pool, "org_acme", "export_report", 50, priority=9)
    await add_jobs(pool, "org_acme", "notification", 1, priority=0)
    await pool.execute("INSERT INTO job_type_limits (job_type, max_running) VALUES ('export_report', 1)")
    rows = await claim(pool)
    assert Counter(r["job_type"] for r in rows) == {"export_report": 1, "notification": 1}


async def test_breaker_opens_then_lets_one_trial_through(pool: asyncpg.Pool) -> None:
    await add_jobs(pool, "org_acme", "notification", 20)
    await add_jobs(pool, "org_globex", "test_work", 2)
    await pool.execute(
        "INSERT INTO circuit_breaker_rules (job_type, failure_threshold, window_seconds, cooldown_seconds)"
        " VALUES ('notification', 3, 60, 30)"
    )
    assert not await active(pool)  # a rule alone holds nothing back
    rows = await claim(pool, org_limit=2)
    notes = [r for r in rows if r["job_type"] == "notification"]
    await finish(pool, notes, "retrying")  # two transient failures
    assert await pool.fetchval("SELECT state FROM circuit_breakers") == "closed"
    # A success in between starts the count again.
    rows = await claim(pool, limit=1, org_limit=2)
    await finish(pool, rows, "succeeded")
    assert await pool.fetchval("SELECT failures FROM circuit_breakers") == 0
    rows = await claim(pool, org_limit=2)
    notes = [r for r in rows if r["job_type"] == "notification"]
    await finish(pool, notes, "retrying")
    rows = await claim(pool, limit=1, org_limit=2)
    await finish(pool, rows, "retrying")
    breaker = await pool.fetchrow("SELECT * FROM circuit_breakers")
    assert breaker["state"] == "open" and breaker["failures"] == 3 and breaker["last_error"] == "boom"
    assert breaker["organization_id"] == ""  # the cluster's breaker
    assert await active(pool)
    # Open: no notification is claimed; other types are.
    await pool.execute("UPDATE jobs SET scheduled_at = NULL")
    rows = await claim(pool, org_limit=10)
    assert {r["job_type"] for r in rows} <= {"test_work"}
    # Cool-down over: exactly one trial job, the breaker half-open meanwhile.
    await pool.execute("UPDATE circuit_breakers SET retry_at = now() - interval '1 s'")
    [trial] = await claim(pool, org_limit=10)
    assert trial["job_type"] == "notification"
    breaker = await pool.fetchrow("SELECT state, trial_job_id FROM circuit_breakers")
    assert breaker["state"] == "half_open" and breaker["trial_job_id"] == trial["id"]
    assert await claim(pool, org_limit=10) == []
    # The trial fails: open again for a new cool-down.
    await finish(pool, [trial], "retrying")
    assert await pool.fetchval("SELECT state FROM circuit_breakers") == "open"
    assert await claim(pool, org_limit=10) == []
    # Next trial succeeds: closed, everything flows.
    await pool.execute("UPDATE circuit_breakers SET retry_at = now() - interval '1 s'")
    [trial] = await claim(pool, org_limit=10)
    await finish(pool, [trial], "succeeded")
    assert await pool.fetchval("SELECT state FROM circuit_breakers") == "closed"
    assert not await active(pool)
    assert len(await claim(pool, org_limit=10)) == 10


async def test_half_open_breaker_whose_trial_vanished_tries_again(pool: asyncpg.Pool) -> None:
    await add_jobs(pool, "org_acme", "notification", 3)
    await pool.execute(
        "INSERT INTO circuit_breaker_rules (job_type, failure_threshold, window_seconds, cooldown_seconds)"
        " VALUES ('notification', 3, 60, 30)"
    )
    await pool.execute(
        "INSERT INTO circuit_breakers (job_type, organization_id, state, trial_job_id)"
        " VALUES ('notification', '', 'half_open', $1)",
        uuid.uuid4(),
    )
    [trial] = await claim(pool)
    assert await pool.fetchval("SELECT trial_job_id FROM circuit_breakers") == trial["id"]


async def test_per_organization_breaker_pauses_only_that_organization(pool: asyncpg.Pool) -> None:
    await add_jobs(pool, "org_acme", "notification", 6)
    await add_jobs(pool, "org_globex", "notification", 6)
    await pool.execute(
        "INSERT INTO circuit_breaker_rules (job_type, per_organization, failure_threshold, window_seconds,"
        " cooldown_seconds) VALUES ('notification', true, 2, 60, 30)"
    )
    rows = await claim(pool, org_limit=2)
    # Acme's receiver fails twice; Globex's works.
    await finish(pool, [r for r in rows if r["organization_id"] == "org_acme"], "retrying")
    await finish(pool, [r for r in rows if r["organization_id"] == "org_globex"], "succeeded")
    states = dict(await pool.fetch("SELECT organization_id, state FROM circuit_breakers"))
    assert states == {"org_acme": "open"}  # a breaker's row starts with its first failure
    await pool.execute("UPDATE jobs SET scheduled_at = NULL")
    rows = await claim(pool, org_limit=10)
    assert {r["organization_id"] for r in rows} == {"org_globex"} and len(rows) == 4
    # Acme's cool-down over: one trial, in Acme only.
    await pool.execute(
        "UPDATE circuit_breakers SET retry_at = now() - interval '1 s' WHERE organization_id = 'org_acme'"
    )
    [trial] = await claim(pool, org_limit=10)
    assert trial["organization_id"] == "org_acme"
    assert await pool.fetchval("SELECT state FROM circuit_breakers WHERE organization_id = 'org_acme'") == "half_open"
    assert await claim(pool, org_limit=10) == []
    await finish(pool, [trial], "succeeded")
    assert await pool.fetchval("SELECT state FROM circuit_breakers WHERE organization_id = 'org_acme'") == "closed"
    assert len(await claim(pool, org_limit=10)) == 5


async def test_flow_claim_uses_the_ready_index_and_reads_only_the_organizations_it_needs(pool: asyncpg.Pool) -> None:
    orgs = await add_organizations(pool, 40)
    await pool.execute(
        "INSERT INTO jobs (organization_id, user_id, job_type, total_steps)"
        " SELECT o, 'user_' || o, 'test_work', 2 FROM unnest($1::text[]) o, generate_series(1, 200)",
        orgs,
    )
    await pool.execute("INSERT INTO organization_tiers SELECT o, 'pro' FROM unnest($1::text[]) o", orgs)
    await pool.execute("ANALYZE jobs")
    rows, plan = await nested_plans(pool, Q.claim_jobs, "w1", 10, 5, analyze=True)
    assert len(rows) == 10
    assert "jobs_ready_idx" in plan and "job_queue_orgs_turn_idx" in plan, plan
    assert "Seq Scan on jobs" not in plan, plan
    # Ten jobs, weight 1: ten organizations visited, one job each (the walk stopped there).
    assert len({r["organization_id"] for r in rows}) == 10
    assert plan.count("Index Scan using jobs_ready_idx") == 10, plan
