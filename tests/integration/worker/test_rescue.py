"""The rescuer, run directly after seeding rows of dead workers."""

from __future__ import annotations

import asyncpg

from jobrunner.db.sql import Q
from jobrunner.worker.rescuer import Rescuer
from tests.integration.worker.conftest import fast_settings
from tests.support.jobs import execute_unchecked, insert_job, job


async def hold(pool: asyncpg.Pool, job_id: object, worker: str, status: str = "running", retry_count: int = 0) -> None:
    await execute_unchecked(
        pool,
        "UPDATE jobs SET status = $2, locked_by = $3, locked_at = now(), started_at = now(),"
        " retry_count = $4, attempts = $4 + 1 WHERE id = $1",
        job_id,
        status,
        worker,
        retry_count,
    )


async def test_rescue_of_dead_and_unknown_workers(pool: asyncpg.Pool) -> None:
    settings = fast_settings(lease_seconds=30, retry_backoff_base_seconds=10, retry_backoff_cap_seconds=100)
    await pool.execute(Q.heartbeat_worker, "alive", "h", 1, 5)
    await pool.execute(Q.heartbeat_worker, "dead", "h", 2, 5)
    await pool.execute("UPDATE workers SET heartbeat_at = now() - interval '31 s' WHERE id = 'dead'")
    alive_job = await insert_job(pool)
    await hold(pool, alive_job, "alive")
    retried = await insert_job(pool, max_retries=3)
    await hold(pool, retried, "dead", retry_count=1)
    exhausted = await insert_job(pool, max_retries=2)
    await hold(pool, exhausted, "ghost", status="retrying", retry_count=2)  # no worker row at all
    cancelled = await insert_job(pool)
    await hold(pool, cancelled, "dead")
    await pool.execute(
        "UPDATE jobs SET status = 'cancelled', cancelled_at = now(), completed_at = now() WHERE id = $1", cancelled
    )

    rescued = await Rescuer(pool, settings, rand=lambda: 0.5).run_once()
    assert {r.job_id for r in rescued} == {retried, exhausted, cancelled}

    row = await job(pool, retried)
    assert (row["status"], row["retry_count"], row["locked_by"]) == ("retrying", 2, None)
    wait = await pool.fetchval("SELECT extract(epoch FROM scheduled_at - updated_at) FROM jobs WHERE id = $1", retried)
    assert float(wait) == 15.0  # d = 10 * 2**1 = 20; 20/2 + 0.5 * 20/2
    assert "stopped responding" in row["error_message"] and row["error_message"].endswith("retrying")

    row = await job(pool, exhausted)
    assert row["status"] == "failed" and row["completed_at"] is not None
    assert row["error_message"].endswith("no retries left")

    row = await job(pool, cancelled)
    assert (row["status"], row["locked_by"]) == ("cancelled", None)
    assert (await job(pool, alive_job))["locked_by"] == "alive"

    audits = await pool.fetch("SELECT * FROM audit_logs WHERE action = 'job.rescued' ORDER BY job_id")
    assert {a["job_id"] for a in audits} == {retried, exhausted}
    assert all(a["actor"] == "system" and a["user_id"] is None for a in audits)
    assert await pool.fetchval("SELECT count(*) FROM workers WHERE id = 'dead'") == 0
    assert await Rescuer(pool, settings).run_once() == []


async def test_a_session_lock_taken_before_the_server_started_is_not_trusted(pool: asyncpg.Pool) -> None:
    """After a database restart every lock is free while the workers live on: a worker whose
    row says it holds its lock, taken before the server's start, is judged by its lease
    only (its jobs stay), while one that took its lock since then and lost it is gone."""
    settings = fast_settings(lease_seconds=30)
    for worker in ("before-restart", "since-restart"):
        await pool.execute(Q.heartbeat_worker, worker, "h", 1, 5)
    await pool.execute(
        "UPDATE workers SET holds_session_lock = true, session_locked_at = CASE id"
        " WHEN 'before-restart' THEN pg_postmaster_start_time() - interval '1 s' ELSE now() END"
        " WHERE id IN ('before-restart', 'since-restart')"
    )  # neither lock is held by any session now: both can be taken
    kept = await insert_job(pool)
    await hold(pool, kept, "before-restart")
    lost = await insert_job(pool, max_retries=0)
    await hold(pool, lost, "since-restart")

    rescued = await Rescuer(pool, settings).run_once()

    assert [r.job_id for r in rescued] == [lost]
    assert "database session ended" in (await job(pool, lost))["error_message"]
    assert (await job(pool, kept))["locked_by"] == "before-restart"
