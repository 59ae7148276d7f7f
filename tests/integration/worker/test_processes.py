"""Real worker processes sharing one queue: the per-organization limit, a quiet tenant
next to a busy one, SIGKILL and rescue, SIGTERM and graceful shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from tests.integration.worker.conftest import eventually, wait_status
from tests.support.jobs import add_organizations, insert_job, job
from tests.support.workers import spawn_worker, stop_worker

pytestmark = pytest.mark.slow


async def workers_up(pool: asyncpg.Pool, count: int) -> None:
    await eventually(lambda: pool.fetchval("SELECT count(*) >= $1 FROM workers", count), timeout=20)


@contextlib.asynccontextmanager
async def worker_process(
    database_url: str, pool: asyncpg.Pool, log_path: Path, stop_with: int = signal.SIGTERM
) -> AsyncIterator[subprocess.Popen[bytes]]:
    """A worker process, up and registered; stopped with ``stop_with`` on exit (its exit
    code is then in ``returncode``)."""
    process = spawn_worker(database_url, log_path=log_path)
    try:
        await eventually(
            lambda: pool.fetchval("SELECT count(*) > 0 FROM workers WHERE pid = $1", process.pid), timeout=20
        )
        yield process
    finally:
        stop_worker(process, stop_with)


async def max_overlap(pool: asyncpg.Pool) -> dict[str, int]:
    """Per organization, the most attempts between their start and end (or cleanup) at once."""
    rows = await pool.fetch(
        "SELECT organization_id, kind, at FROM test_events WHERE kind IN ('start', 'end', 'cleanup') ORDER BY at"
    )
    running: dict[str, int] = {}
    peak: dict[str, int] = {}
    for row in rows:
        org = row["organization_id"]
        running[org] = running.get(org, 0) + (1 if row["kind"] == "start" else -1)
        peak[org] = max(peak.get(org, 0), running[org])
    return peak


async def test_org_limit_holds_across_processes_and_quiet_tenant_starts_at_once(
    database_url: str, events: asyncpg.Pool, tmp_path: Path
) -> None:
    pool = events
    orgs = await add_organizations(pool, 3)
    env = {"JOBRUNNER_ORG_CONCURRENCY_LIMIT": "3"}
    procs = [spawn_worker(database_url, concurrency=8, env=env, log_path=tmp_path / f"w{i}.log") for i in range(3)]
    try:
        await workers_up(pool, 3)
        await pool.execute(
            "INSERT INTO jobs (organization_id, user_id, job_type, payload, total_steps)"
            " SELECT 'org_acme', 'user_admin', 'test_work', '{\"seconds\": 0.1}', 2 FROM generate_series(1, 150)"
        )
        for org in orgs:
            for _ in range(6):
                await insert_job(pool, payload={"seconds": 0.1}, org=org, user=f"user_{org}")
        await asyncio.sleep(0.5)
        backlog = await pool.fetchval(
            "SELECT count(*) FROM jobs WHERE organization_id = 'org_acme' AND status = 'queued'"
        )
        assert backlog > 50
        quiet = await insert_job(pool, payload={"seconds": 0.1}, org="org_globex", user="user_globex")
        inserted = await pool.fetchval("SELECT created_at FROM jobs WHERE id = $1", quiet)
        started = await eventually(
            lambda: pool.fetchval("SELECT at FROM test_events WHERE job_id = $1 AND kind = 'start'", quiet)
        )
        assert (started - inserted).total_seconds() < 0.5
        await eventually(
            lambda: pool.fetchval("SELECT count(*) = 0 FROM jobs WHERE status <> 'succeeded' OR locked_by IS NOT NULL"),
            timeout=40,
        )
    finally:
        codes = [stop_worker(p) for p in procs]
    assert codes == [0, 0, 0]
    peak = await max_overlap(pool)
    assert max(peak.values()) <= 3, peak
    assert peak["org_acme"] == 3, peak  # the limit was reached, and never passed
    # Every job ran exactly once, in exactly one process.
    dupes = await pool.fetchval(
        "SELECT count(*) FROM (SELECT job_id FROM test_events WHERE kind = 'end' GROUP BY job_id HAVING count(*) > 1) d"
    )
    assert dupes == 0
    # More than one process ran jobs (which ones get the freed slots is a race: on a busy
    # machine one of the three may lose every one of them).
    assert await pool.fetchval("SELECT count(DISTINCT pid) FROM test_events") >= 2
    assert await pool.fetchval("SELECT count(*) FROM workers") == 0  # clean stops leave no row


async def test_sigkill_mid_job_is_rescued_and_finished_once(
    database_url: str, events: asyncpg.Pool, tmp_path: Path
) -> None:
    pool = events
    async with worker_process(database_url, pool, tmp_path / "first.log", stop_with=signal.SIGKILL):
        job_id = await insert_job(pool, payload={"seconds": 1.5})
        await eventually(lambda: pool.fetchval("SELECT 1 FROM test_events WHERE job_id = $1", job_id))
    held = await job(pool, job_id)
    assert held["status"] == "running" and held["locked_by"] is not None
    async with worker_process(database_url, pool, tmp_path / "second.log") as second:
        row = await wait_status(pool, job_id, "succeeded", timeout=20)
    assert second.returncode == 0
    assert (row["retry_count"], row["attempts"]) == (1, 2)
    ends = await pool.fetch("SELECT attempt FROM test_events WHERE job_id = $1 AND kind = 'end'", job_id)
    assert [e["attempt"] for e in ends] == [2]
    audit = await pool.fetchrow("SELECT * FROM audit_logs WHERE job_id = $1", job_id)
    assert audit["action"] == "job.rescued" and audit["actor"] == "system"


async def test_sigterm_finishes_short_jobs_and_hands_back_long_ones(
    database_url: str, events: asyncpg.Pool, tmp_path: Path
) -> None:
    pool = events
    async with worker_process(database_url, pool, tmp_path / "w.log") as worker:
        short = await insert_job(pool, payload={"seconds": 0.6})
        long = await insert_job(pool, payload={"seconds": 2.5})
        await eventually(lambda: pool.fetchval("SELECT count(*) = 2 FROM test_events WHERE kind = 'start'"))
    assert worker.returncode == 0
    assert (await job(pool, short))["status"] == "succeeded"
    row = await job(pool, long)
    assert (row["status"], row["locked_by"], row["retry_count"], row["progress"]) == ("queued", None, 0, 0)
    assert await pool.fetchval("SELECT count(*) FROM test_events WHERE job_id = $1 AND kind = 'cleanup'", long) == 1
    assert await pool.fetchval("SELECT count(*) FROM workers") == 0
    async with worker_process(database_url, pool, tmp_path / "again.log"):
        row = await wait_status(pool, long, "succeeded", timeout=20)
    assert row["attempts"] == 2 and row["retry_count"] == 0
