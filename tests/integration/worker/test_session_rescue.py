"""Rescue by session: each worker holds a session-level advisory lock on its own id on its
LISTEN connection; a rescuer that can take it knows the worker's session ended and rescues
its jobs at once, without waiting for the lease. Hung workers (session alive, heartbeat
stale) and workers without a session lock (PgBouncer) still go by the lease."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import asyncpg
import pytest

from jobrunner.db.sql import Q
from jobrunner.worker.rescuer import Rescuer
from tests.integration.worker.conftest import eventually, fast_settings, wait_status
from tests.integration.worker.test_rescue import hold
from tests.support.jobs import insert_job, job
from tests.support.workers import spawn_worker, stop_worker


async def test_rescue_by_session_lock(database_url: str, pool: asyncpg.Pool) -> None:
    settings = fast_settings(lease_seconds=30)
    workers = ("alive", "gone", "no-lock")
    for worker in workers:
        await pool.execute(Q.heartbeat_worker, worker, "h", 1, 5)
    sessions = {name: await asyncpg.connect(database_url) for name in ("alive", "gone")}
    try:
        for name, conn in sessions.items():
            assert await conn.fetchval(Q.hold_worker_session_lock, name) is True
        jobs = {}
        for worker in workers:
            jobs[worker] = await insert_job(pool)
            await hold(pool, jobs[worker], worker)
        assert await Rescuer(pool, settings).run_once() == []  # every heartbeat is fresh
        await sessions.pop("gone").close()  # one worker's session ends (its process was killed)

        rescued = await Rescuer(pool, settings, rand=lambda: 0.5).run_once()
        assert {r.job_id for r in rescued} == {jobs["gone"]}
        row = await job(pool, jobs["gone"])
        assert (row["status"], row["locked_by"]) == ("retrying", None)
        assert "is gone (its database session ended)" in row["error_message"]
        audit = await pool.fetchrow("SELECT details FROM audit_logs WHERE job_id = $1", jobs["gone"])
        assert audit["details"]["reason"] == "session"
        # Session alive, or no session lock to tell by (PgBouncer): the lease decides.
        for worker in ("alive", "no-lock"):
            assert (await job(pool, jobs[worker]))["locked_by"] == worker
    finally:
        for conn in sessions.values():
            await conn.close()


async def test_hung_worker_still_goes_by_the_lease(database_url: str, pool: asyncpg.Pool) -> None:
    await pool.execute(Q.heartbeat_worker, "hung", "h", 1, 5)
    session = await asyncpg.connect(database_url)
    try:
        assert await session.fetchval(Q.hold_worker_session_lock, "hung") is True
        job_id = await insert_job(pool)
        await hold(pool, job_id, "hung")
        await pool.execute("UPDATE workers SET heartbeat_at = now() - interval '31 s' WHERE id = 'hung'")
        [rescued] = await Rescuer(pool, fast_settings(lease_seconds=30)).run_once()
        assert rescued.job_id == job_id
        assert "no heartbeat for 30 s" in (await job(pool, job_id))["error_message"]
    finally:
        await session.close()


@pytest.mark.slow
async def test_sigkilled_worker_is_rescued_within_two_seconds(
    database_url: str, events: asyncpg.Pool, tmp_path: Path
) -> None:
    """With the default lease (30 s) and heartbeat (5 s): only the session tells."""
    pool = events
    slow_lease = {"JOBRUNNER_LEASE_SECONDS": "30", "JOBRUNNER_HEARTBEAT_INTERVAL_SECONDS": "5"}
    victim = spawn_worker(database_url, concurrency=2, env=slow_lease, log_path=tmp_path / "victim.log")
    rescuer = None
    try:
        await eventually(
            lambda: pool.fetchval("SELECT holds_session_lock FROM workers WHERE pid = $1", victim.pid), timeout=20
        )
        job_id = await insert_job(pool, payload={"seconds": 4})
        await eventually(lambda: pool.fetchval("SELECT 1 FROM test_events WHERE job_id = $1", job_id))
        rescuer = spawn_worker(database_url, concurrency=2, env=slow_lease, log_path=tmp_path / "rescuer.log")
        await eventually(
            lambda: pool.fetchval("SELECT count(*) > 0 FROM workers WHERE pid = $1", rescuer.pid), timeout=20
        )
        assert (await job(pool, job_id))["attempts"] == 1  # still the victim's
        killed_at = time.monotonic()
        stop_worker(victim, signal.SIGKILL)
        await eventually(
            lambda: pool.fetchval("SELECT locked_by IS NULL OR attempts = 2 FROM jobs WHERE id = $1", job_id)
        )
        rescue_seconds = time.monotonic() - killed_at
        print(f"rescued {rescue_seconds:.2f} s after SIGKILL")
        # Within 2 s, plus one rescue interval (1 s) of the rescuer's poll; the lease is 30 s.
        assert rescue_seconds < 2.0 + 1.0, rescue_seconds
        row = await job(pool, job_id)
        assert row["retry_count"] == 1
        assert "database session ended" in row["error_message"]
        assert (await wait_status(pool, job_id, "succeeded", timeout=20))["attempts"] == 2
    finally:
        stop_worker(victim, signal.SIGKILL)
        if rescuer is not None:
            assert stop_worker(rescuer) == 0
