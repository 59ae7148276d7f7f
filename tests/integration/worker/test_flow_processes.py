"""Flow control with several real worker processes sharing one queue: a job type's cluster
cap and per-organization cap, and a per-organization rate limit, are never passed; a
breaker's type waits while other work flows."""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path

import asyncpg
import pytest

from tests.integration.worker.conftest import eventually
from tests.integration.worker.test_processes import max_overlap, workers_up
from tests.support.jobs import add_organizations
from tests.support.workers import spawn_worker, stop_worker

pytestmark = pytest.mark.slow


async def peak_running(pool: asyncpg.Pool) -> int:
    """The most attempts running at once over all organizations (test_events)."""
    rows = await pool.fetch("SELECT kind FROM test_events WHERE kind IN ('start', 'end', 'cleanup') ORDER BY at")
    running = peak = 0
    for row in rows:
        running += 1 if row["kind"] == "start" else -1
        peak = max(peak, running)
    return peak


async def test_caps_and_rate_limit_are_exact_across_processes(
    database_url: str, events: asyncpg.Pool, tmp_path: Path
) -> None:
    pool = events
    orgs = await add_organizations(pool, 4)
    await pool.execute(
        "INSERT INTO job_type_limits (job_type, max_running, max_running_per_org) VALUES ('test_work', 3, 2)"
    )
    await pool.execute(
        "INSERT INTO rate_limits (job_type, per_organization, max_starts, period_seconds)"
        " VALUES ('test_work', true, 4, 1)"
    )
    # Two slots each: six in all, twice the cluster cap, and reaching it takes two processes.
    procs = [spawn_worker(database_url, concurrency=2, log_path=tmp_path / f"w{i}.log") for i in range(3)]
    try:
        await workers_up(pool, 3)
        await pool.execute(
            "INSERT INTO jobs (organization_id, user_id, job_type, payload, total_steps)"
            " SELECT o, 'user_' || o, 'test_work', '{\"seconds\": 0.05}', 2"
            "   FROM unnest($1::text[]) o, generate_series(1, 10)",
            orgs,
        )
        await eventually(
            lambda: pool.fetchval("SELECT count(*) = 0 FROM jobs WHERE status <> 'succeeded' OR locked_by IS NOT NULL"),
            timeout=60,
        )
    finally:
        codes = [stop_worker(p) for p in procs]
    assert codes == [0, 0, 0]
    assert await peak_running(pool) == 3  # the cluster cap was reached, never passed
    peak = await max_overlap(pool)
    assert max(peak.values()) <= 2, peak
    # Starts per organization per one-second window (the claim's own clock: started_at).
    windows = Counter(
        (r["organization_id"], r["window"])
        for r in await pool.fetch("SELECT organization_id, floor(extract(epoch FROM started_at)) AS window FROM jobs")
    )
    assert max(windows.values()) <= 4, windows
    assert await pool.fetchval("SELECT count(DISTINCT pid) FROM test_events") > 1
    dupes = await pool.fetchval(
        "SELECT count(*) FROM (SELECT job_id FROM test_events WHERE kind = 'end' GROUP BY job_id HAVING count(*) > 1) d"
    )
    assert dupes == 0


async def test_open_breaker_pauses_its_type_until_a_trial_succeeds(
    database_url: str, events: asyncpg.Pool, tmp_path: Path
) -> None:
    pool = events
    await pool.execute(
        "INSERT INTO circuit_breaker_rules (job_type, failure_threshold, window_seconds, cooldown_seconds)"
        " VALUES ('test_work', 3, 60, 1)"
    )
    procs = [spawn_worker(database_url, concurrency=4, log_path=tmp_path / f"w{i}.log") for i in range(2)]
    try:
        await workers_up(pool, 2)
        # Three transient failures in a row open the breaker ...
        await pool.execute(
            "INSERT INTO jobs (organization_id, user_id, job_type, payload, total_steps, max_retries)"
            " SELECT 'org_acme', 'user_admin', 'test_work', '{\"fail\": \"retry_later\", \"delay\": 30}', 2, 0"
            "   FROM generate_series(1, 3)"
        )
        await eventually(lambda: pool.fetchval("SELECT state = 'open' FROM circuit_breakers"), timeout=20)
        # ... so good work of that type waits (no start) while the breaker is open ...
        await pool.execute(
            "INSERT INTO jobs (organization_id, user_id, job_type, payload, total_steps)"
            " SELECT 'org_acme', 'user_admin', 'test_work', '{}', 2 FROM generate_series(1, 5)"
        )
        await asyncio.sleep(0.3)
        assert await pool.fetchval("SELECT count(*) FROM jobs WHERE status = 'succeeded'") == 0
        # ... until the cool-down is over: one trial succeeds, the breaker closes, all run.
        await eventually(lambda: pool.fetchval("SELECT count(*) = 5 FROM jobs WHERE status = 'succeeded'"), timeout=20)
        assert await pool.fetchval("SELECT state FROM circuit_breakers") == "closed"
    finally:
        codes = [stop_worker(p) for p in procs]
    assert codes == [0, 0]


async def test_weighted_tiers_share_the_workers_three_to_one(
    database_url: str, events: asyncpg.Pool, tmp_path: Path
) -> None:
    pool = events
    orgs = await add_organizations(pool, 2, prefix="org_w")
    await pool.execute("INSERT INTO flow_tiers (name, max_running, weight) VALUES ('big', 50, 3), ('small', 50, 1)")
    await pool.execute("INSERT INTO organization_tiers VALUES ('org_w0', 'big'), ('org_w1', 'small')")
    await pool.execute(
        "INSERT INTO jobs (organization_id, user_id, job_type, payload, total_steps)"
        " SELECT o, 'user_' || o, 'test_work', '{\"seconds\": 0.02}', 2"
        "   FROM unnest($1::text[]) o, generate_series(1, 60)",
        orgs,
    )
    procs = [spawn_worker(database_url, concurrency=2, log_path=tmp_path / f"w{i}.log") for i in range(2)]
    try:
        # While both organizations have backlog, the big one gets three starts to one.
        await eventually(
            lambda: pool.fetchval("SELECT count(*) >= 60 FROM jobs WHERE started_at IS NOT NULL"), timeout=30
        )
        first = await pool.fetch(
            "SELECT organization_id FROM jobs WHERE started_at IS NOT NULL ORDER BY started_at, seq LIMIT 60"
        )
        await eventually(
            lambda: pool.fetchval("SELECT count(*) = 0 FROM jobs WHERE status <> 'succeeded' OR locked_by IS NOT NULL"),
            timeout=60,
        )
    finally:
        codes = [stop_worker(p) for p in procs]
    assert codes == [0, 0]
    share = Counter(r["organization_id"] for r in first)
    assert 40 <= share["org_w0"] <= 50, share  # 45 of 60 exactly three to one
