"""Wake-ups and their fallbacks: lost cancel notifications, a lost LISTEN connection,
scheduled jobs, manual retry."""

from __future__ import annotations

import asyncio

import asyncpg

from tests.integration.worker.conftest import eventually, wait_status
from tests.support.jobs import insert_job

CANCEL = "UPDATE jobs SET status = 'cancelled', cancelled_at = now(), completed_at = now() WHERE id = $1"


async def test_cancel_is_seen_within_a_second_without_notification(worker, pool: asyncpg.Pool) -> None:
    await pool.execute("ALTER TABLE jobs DISABLE TRIGGER jobs_notify_status")
    job_id = await insert_job(pool, payload={"seconds": 20})
    await eventually(lambda: pool.fetchval("SELECT 1 FROM test_events WHERE job_id = $1 AND kind = 'start'", job_id))
    await pool.execute(CANCEL, job_id)
    loop = asyncio.get_running_loop()
    cancelled_at = loop.time()
    await eventually(
        lambda: pool.fetchval("SELECT 1 FROM test_events WHERE job_id = $1 AND kind = 'cancel_seen'", job_id)
    )
    assert loop.time() - cancelled_at < 1.0
    row = await wait_status(pool, job_id, "cancelled")
    assert row["completed_at"] is not None


async def test_listener_reconnects_after_its_connection_dies(worker, pool: asyncpg.Pool) -> None:
    conn = worker._listener.connection
    assert conn is not None
    await pool.execute("SELECT pg_terminate_backend($1)", conn.get_server_pid())
    await eventually(lambda: _reconnected(worker, conn), timeout=5)
    # Long poll interval: only a notification can make this fast.
    worker.settings.poll_interval_seconds = 30
    await asyncio.sleep(0.6)  # let the claim loop go idle with the long timeout
    job_id = await insert_job(pool, payload={"seconds": 0})
    loop = asyncio.get_running_loop()
    start = loop.time()
    await wait_status(pool, job_id, "succeeded", timeout=5)
    assert loop.time() - start < 2


async def _reconnected(worker, old) -> bool:
    new = worker._listener.connection
    return new is not None and new is not old


async def test_delayed_job_runs_when_due(worker, pool: asyncpg.Pool) -> None:
    worker.settings.poll_interval_seconds = 30
    job_id = await insert_job(pool, payload={"seconds": 0}, delay=0.8)
    await asyncio.sleep(0.4)
    assert (await pool.fetchval("SELECT status FROM jobs WHERE id = $1", job_id)) == "queued"
    row = await wait_status(pool, job_id, "succeeded", timeout=5)
    started = await pool.fetchval("SELECT at FROM test_events WHERE job_id = $1 AND kind = 'start'", job_id)
    scheduled = row["scheduled_at"]
    assert 0 <= (started - scheduled).total_seconds() < 0.5


async def test_manual_retry_of_a_failed_job_runs_again(worker, pool: asyncpg.Pool) -> None:
    job_id = await insert_job(pool, payload={"fail": "permanent"}, max_retries=2)
    await wait_status(pool, job_id, "failed")
    await pool.execute(
        "UPDATE jobs SET status = 'queued', retry_count = retry_count + 1, error_message = NULL, result = NULL,"
        " started_at = NULL, completed_at = NULL, progress = 0, current_step = 0 WHERE id = $1 AND status = 'failed'",
        job_id,
    )
    await eventually(
        lambda: pool.fetchval("SELECT count(*) = 2 FROM test_events WHERE job_id = $1 AND kind = 'start'", job_id)
    )
    row = await wait_status(pool, job_id, "failed")
    assert row["retry_count"] == 1 and row["attempts"] == 2
