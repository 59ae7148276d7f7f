"""One in-process worker: success, failures, retries, timeouts, progress, cancel."""

from __future__ import annotations

import asyncio

import asyncpg

from jobrunner.worker.loop import Worker
from tests.integration.worker.conftest import eventually, fast_settings, wait_status
from tests.support.jobs import insert_job, job


async def test_success_writes_result_and_full_progress(worker, pool: asyncpg.Pool) -> None:
    job_id = await insert_job(pool, payload={"seconds": 0.05})
    row = await wait_status(pool, job_id, "succeeded")
    assert row["progress"] == 100 and row["current_step"] == 2
    assert row["result"] == {"slept": 0.05, "attempt": 1}
    assert row["completed_at"] is not None and row["started_at"] is not None
    assert row["error_message"] is None and row["retry_count"] == 0


async def test_progress_is_visible_while_running(worker, pool: asyncpg.Pool) -> None:
    job_id = await insert_job(pool, payload={"seconds": 1.0})

    async def midway() -> asyncpg.Record | None:
        row = await job(pool, job_id)
        return row if row["status"] == "running" and 50 < row["progress"] < 100 else None

    row = await eventually(midway, timeout=5)
    assert row["current_step"] == 2 and row["step_label"] == "Work"
    await wait_status(pool, job_id, "succeeded")


async def test_permanent_error_fails_at_once(worker, pool: asyncpg.Pool) -> None:
    job_id = await insert_job(pool, payload={"fail": "permanent"})
    row = await wait_status(pool, job_id, "failed")
    assert row["retry_count"] == 0 and row["error_message"] == "told to fail permanently"
    assert row["progress"] == 50 and row["current_step"] == 2  # where the attempt stopped


async def test_transient_errors_retry_then_fail(worker, pool: asyncpg.Pool) -> None:
    job_id = await insert_job(pool, payload={"fail": "transient"}, max_retries=2)
    row = await wait_status(pool, job_id, "failed")
    assert row["retry_count"] == 2 and row["attempts"] == 3
    assert row["error_message"] == "ValueError: told to fail"
    audit = await pool.fetchval("SELECT count(*) FROM test_events WHERE job_id = $1 AND kind = 'cleanup'", job_id)
    assert audit == 3


async def test_retry_later_sets_retrying_with_scheduled_at(worker, pool: asyncpg.Pool) -> None:
    job_id = await insert_job(pool, payload={"fail": "retry_later", "delay": 30}, max_retries=1)

    async def retrying() -> asyncpg.Record | None:
        row = await job(pool, job_id)
        return row if row["status"] == "retrying" and row["locked_by"] is None else None

    row = await eventually(retrying)
    assert row["retry_count"] == 1 and row["error_message"] == "told to retry later"
    wait = await pool.fetchval("SELECT extract(epoch FROM scheduled_at - updated_at) FROM jobs WHERE id = $1", job_id)
    assert 29 <= float(wait) <= 30.01


async def test_timeout_is_transient_and_audited(worker, pool: asyncpg.Pool) -> None:
    job_id = await insert_job(pool, "test_slow", {"seconds": 5}, max_retries=0)
    row = await wait_status(pool, job_id, "failed")
    assert row["error_message"] == "Job timed out after 0.5 s"
    audit = await pool.fetchrow("SELECT * FROM audit_logs WHERE job_id = $1", job_id)
    assert audit["actor"] == "system" and audit["user_id"] is None and audit["action"] == "job.timed_out"


async def test_cancel_while_running(worker, pool: asyncpg.Pool) -> None:
    job_id = await insert_job(pool, payload={"seconds": 20})
    await eventually(lambda: pool.fetchval("SELECT 1 FROM test_events WHERE job_id = $1 AND kind = 'start'", job_id))
    await pool.execute(
        "UPDATE jobs SET status = 'cancelled', cancelled_at = now(), completed_at = now() WHERE id = $1", job_id
    )
    cancelled_at = asyncio.get_running_loop().time()
    await eventually(
        lambda: pool.fetchval("SELECT 1 FROM test_events WHERE job_id = $1 AND kind = 'cancel_seen'", job_id)
    )
    assert asyncio.get_running_loop().time() - cancelled_at < 1.0
    row = await wait_status(pool, job_id, "cancelled")
    kinds = await pool.fetch("SELECT kind FROM test_events WHERE job_id = $1 ORDER BY at", job_id)
    assert [k["kind"] for k in kinds] == ["start", "cancel_seen", "cleanup"]
    assert row["result"] is None and row["status"] == "cancelled"


async def test_bad_error_messages_and_results_cannot_poison_the_writer(worker, pool: asyncpg.Pool) -> None:
    nul = await insert_job(pool, payload={"fail": "nul", "record": False}, max_retries=0)
    bad = await insert_job(pool, payload={"fail": "bad_result", "record": False})
    fine = await insert_job(pool, payload={"record": False})
    row = await wait_status(pool, nul, "failed")
    assert row["error_message"].startswith("ValueError: badbytexxx") and len(row["error_message"]) == 2000
    row = await wait_status(pool, bad, "failed")
    assert row["error_message"].startswith("The job's result is not JSON")
    await wait_status(pool, fine, "succeeded")


async def test_progress_writes_are_throttled(database_url: str, events: asyncpg.Pool) -> None:
    pool = events
    await pool.execute("CREATE TABLE progress_writes (progress integer, at timestamptz DEFAULT clock_timestamp())")
    await pool.execute(
        "CREATE FUNCTION count_progress() RETURNS trigger LANGUAGE plpgsql AS $$"
        " BEGIN INSERT INTO progress_writes (progress) VALUES (NEW.progress); RETURN NULL; END $$"
    )
    await pool.execute(
        "CREATE TRIGGER count_progress AFTER UPDATE OF progress ON jobs FOR EACH ROW"
        " WHEN (NEW.status = 'running') EXECUTE FUNCTION count_progress()"
    )
    settings = fast_settings(progress_write_interval_seconds=0.25)
    async with Worker(database_url, settings, concurrency=2).running():
        job_id = await insert_job(pool, "test_chatty", {"seconds": 1.0})
        await wait_status(pool, job_id, "succeeded")
    writes = await pool.fetch("SELECT progress FROM progress_writes ORDER BY at")
    values = [w["progress"] for w in writes]
    assert values == sorted(values) and values[-1] >= 80
    assert 2 <= len(values) <= 8, values  # ~1 s at most every 0.25 s, plus the step


async def test_transient_failure_waits_its_backoff(database_url: str, events: asyncpg.Pool) -> None:
    pool = events
    settings = fast_settings(retry_backoff_base_seconds=10, retry_backoff_cap_seconds=100)
    async with Worker(database_url, settings, concurrency=2).running():
        job_id = await insert_job(pool, payload={"fail": "transient", "record": False}, max_retries=3)

        async def retrying() -> asyncpg.Record | None:
            row = await job(pool, job_id)
            return row if row["status"] == "retrying" and row["locked_by"] is None else None

        row = await eventually(retrying)
        await asyncio.sleep(0.5)
        assert (await job(pool, job_id))["attempts"] == 1  # not claimed before it is due
    wait = await pool.fetchval("SELECT extract(epoch FROM scheduled_at - updated_at) FROM jobs WHERE id = $1", job_id)
    assert 5 <= float(wait) < 10  # first retry: d = 10, equal jitter picks in [d/2, d)
    assert row["retry_count"] == 1 and row["error_message"] == "ValueError: told to fail"
