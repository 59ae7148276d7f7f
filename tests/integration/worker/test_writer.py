"""The writer's guard: an outcome that lands after a cancel changes nothing but the lock,
and the attempt's cleanups run after all. An outcome the state machine refuses (a bug)
fails its own job and does not hold back the others of its batch."""

from __future__ import annotations

import asyncpg

from jobrunner.db.sql import Q
from jobrunner.domain.states import JobStatus
from jobrunner.worker.writer import Outcome, Writer
from tests.integration.worker.conftest import eventually
from tests.support.jobs import execute_unchecked, insert_job, job


async def test_late_success_after_cancel_only_releases_and_cleans_up(pool: asyncpg.Pool) -> None:
    job_id = await insert_job(pool)
    [claimed] = await pool.fetch(Q.claim_jobs, "w1", 1, 5)
    assert claimed["id"] == job_id
    await pool.execute(
        "UPDATE jobs SET status = 'cancelled', cancelled_at = now(), completed_at = now() WHERE id = $1", job_id
    )
    cleaned: list[bool] = []

    async def cleanup() -> None:
        cleaned.append(True)

    writer = Writer(pool, "w1", progress_interval=0.1)
    writer.finish(Outcome(job_id, "succeeded", result={"late": True}, on_rejected=cleanup))
    await writer.flush()
    row = await job(pool, job_id)
    assert (row["status"], row["result"], row["locked_by"], row["progress"]) == ("cancelled", None, None, 0)
    await eventually(lambda: _true(cleaned))


async def test_outcome_of_another_workers_job_changes_nothing(pool: asyncpg.Pool) -> None:
    job_id = await insert_job(pool)
    await pool.fetch(Q.claim_jobs, "w1", 1, 5)
    writer = Writer(pool, "w2", progress_interval=0.1)
    writer.finish(Outcome(job_id, "failed", error="not mine"))
    writer.release(job_id)
    await writer.flush()
    row = await job(pool, job_id)
    assert (row["status"], row["locked_by"], row["error_message"]) == ("running", "w1", None)


async def test_refused_outcome_fails_its_job_and_spares_the_batch(pool: asyncpg.Pool) -> None:
    retry, other = await insert_job(pool), await insert_job(pool)
    await execute_unchecked(pool, "UPDATE jobs SET status = 'retrying', retry_count = 1 WHERE id = $1", retry)
    assert len(await pool.fetch(Q.claim_jobs, "w1", 2, 5)) == 2
    writer = Writer(pool, "w1", progress_interval=0.1)
    # A retry handed back as queued: retrying -> queued is no transition (the worker hands
    # a retry back as retrying); the database refuses it.
    writer.finish(Outcome(retry, JobStatus.QUEUED))
    writer.finish(Outcome(other, JobStatus.SUCCEEDED, result={"ok": True}))
    await writer.flush()
    assert writer.pending == 0
    refused, landed = await job(pool, retry), await job(pool, other)
    assert (refused["status"], refused["locked_by"]) == ("failed", None)
    assert refused["error_message"] == "The worker recorded an impossible outcome"
    assert (landed["status"], landed["result"]) == ("succeeded", {"ok": True})


async def _true(values: list[bool]) -> bool:
    return bool(values)
