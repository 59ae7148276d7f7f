"""The job state machine (domain/states.py TRANSITIONS) is what the database enforces, and
random sequences of API actions and worker events, run through the REAL statements,
never leave it.

- The ``job_status_transitions`` table equals TRANSITIONS; the trigger refuses every
  other change of status with SQLSTATE JR001, whoever writes it; staying in a state
  (a retry's next attempt, progress writes) is no change and passes.
- The random sequences use the API's statements (``Q.cancel_job``, ``Q.retry_job``), the
  worker's own code (``WorkerRepository.claim``, the ``Writer``, the worker's outcome and
  retry decisions) and the ``Rescuer``. Every change of status they make is checked
  against TRANSITIONS, along with the invariants of each state, the per-organization
  limit and the retry budget.
"""

from __future__ import annotations

import asyncio
import itertools
import types
import uuid

import asyncpg
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from jobrunner.db.pool import create_pool
from jobrunner.db.sql import Q
from jobrunner.db.worker_repository import WorkerRepository
from jobrunner.domain.errors import PermanentError, RetryLater
from jobrunner.domain.job import Job
from jobrunner.domain.states import (
    ILLEGAL_TRANSITION_SQLSTATE,
    TRANSITIONS,
    JobStatus,
    StopReason,
    is_allowed,
)
from jobrunner.worker.context import LiveJobContext
from jobrunner.worker.loop import Worker
from jobrunner.worker.rescuer import Rescuer
from jobrunner.worker.writer import Writer
from tests.integration.api.conftest import state_columns
from tests.integration.worker.conftest import fast_settings
from tests.support.jobs import execute_unchecked, insert_job

ORG_LIMIT = 2
WORKERS = ("w1", "w2")
OWNERS = [("org_acme", "user_admin")] * 3 + [("org_globex", "user_globex")]


async def test_transition_table_equals_the_domain(pool: asyncpg.Pool) -> None:
    rows = await pool.fetch("SELECT from_status::text, to_status::text FROM job_status_transitions")
    assert {(r["from_status"], r["to_status"]) for r in rows} == {(a.value, b.value) for a, b in TRANSITIONS}


async def _job_in(pool: asyncpg.Pool, status: JobStatus) -> uuid.UUID:
    job_id = await insert_job(pool)
    columns = state_columns(status.value)
    if columns:
        assignments = ", ".join(f"{name} = ${i + 2}" for i, name in enumerate(columns))
        await execute_unchecked(pool, f"UPDATE jobs SET {assignments} WHERE id = $1", job_id, *columns.values())
    return job_id


async def test_every_illegal_change_of_status_is_refused_by_the_database(pool: asyncpg.Pool) -> None:
    refused = []
    for source, target in itertools.permutations(JobStatus, 2):
        job_id = await _job_in(pool, source)
        try:
            # Only the status: a legal change then breaks a CHECK (its other columns are
            # not set), an illegal one never gets that far.
            await pool.execute("UPDATE jobs SET status = $2 WHERE id = $1", job_id, target)
        except asyncpg.PostgresError as exc:
            if exc.sqlstate == ILLEGAL_TRANSITION_SQLSTATE:
                assert f"{source} -> {target}" in str(exc)
                refused.append((source, target))
            else:
                assert isinstance(exc, asyncpg.CheckViolationError), exc
        assert await pool.fetchval("SELECT status::text FROM jobs WHERE id = $1", job_id) in (source, target)
    assert set(refused) == {(a, b) for a, b in itertools.permutations(JobStatus, 2) if (a, b) not in TRANSITIONS}
    assert len(refused) == 30 - len(TRANSITIONS)


async def test_the_refusal_holds_for_operators_sql_too(pool: asyncpg.Pool) -> None:
    succeeded = await _job_in(pool, JobStatus.SUCCEEDED)
    with pytest.raises(asyncpg.PostgresError, match="illegal job status transition: succeeded -> queued") as info:
        await pool.execute(
            "UPDATE jobs SET status = 'queued', completed_at = NULL, locked_by = NULL WHERE id = $1", succeeded
        )
    assert info.value.sqlstate == ILLEGAL_TRANSITION_SQLSTATE
    # ... and for the API's own statements: a cancel of a final job is refused by its guard
    # (no change), never by the trigger.
    assert tuple(await pool.fetchrow(Q.cancel_job, "org_acme", "user_admin", succeeded)) == (True, False)


async def test_staying_in_a_state_is_no_transition(pool: asyncpg.Pool) -> None:
    for status in JobStatus:
        job_id = await _job_in(pool, status)
        await pool.execute("UPDATE jobs SET status = status, updated_at = now() WHERE id = $1", job_id)
    # A retry's next attempt stays retrying through the claim, its progress and its outcome.
    retrying = await _job_in(pool, JobStatus.RETRYING)
    await pool.execute("UPDATE jobs SET status = 'succeeded', completed_at = now() WHERE status = 'running'")
    repo = WorkerRepository(pool, "w1")
    [job] = [j for j in await repo.claim(10, 10) if j.id == retrying]
    assert job.status == JobStatus.RETRYING and job.is_retry
    writer = Writer(pool, "w1", progress_interval=0)
    writer.progress(types.SimpleNamespace(job_id=retrying, progress=30, step=1, label="x", urgent=True))  # type: ignore[arg-type]
    await writer.flush()
    ctx = LiveJobContext(job, None, pool=pool, settings=fast_settings(), report=lambda _: None)
    outcome = Worker("unused", fast_settings(), worker_id="w1")._failure(ctx, RetryLater("again"))
    assert outcome is not None and outcome.status == JobStatus.RETRYING
    writer.finish(outcome)
    await writer.flush()
    row = await pool.fetchrow("SELECT status::text, retry_count, locked_by FROM jobs WHERE id = $1", retrying)
    assert tuple(row) == ("retrying", 2, None)


# -- random sequences through the real statements ----------------------------------------

worker_name = st.sampled_from(WORKERS)
job_index = st.integers(0, 3)
actions = st.one_of(
    st.tuples(st.just("claim"), worker_name, st.integers(1, 4)),
    st.tuples(st.just("finish"), worker_name, job_index, st.sampled_from(["ok", "permanent", "transient", "shutdown"])),
    st.tuples(st.just("progress"), worker_name, job_index, st.integers(0, 100)),
    st.tuples(st.just("release"), worker_name, job_index),
    st.tuples(st.just("cancel"), job_index),
    st.tuples(st.just("retry"), job_index),
    st.tuples(st.just("die"), worker_name),
)


def check_invariants(row: asyncpg.Record) -> None:
    status = JobStatus(row["status"])
    assert row["retry_count"] <= row["max_retries"]
    assert row["locked_by"] in (None, *WORKERS)
    if status == JobStatus.SUCCEEDED:
        assert row["progress"] == 100 and row["error_message"] is None
    if status == JobStatus.QUEUED:  # new, handed back or retried by hand: no trace of an attempt
        assert row["locked_by"] is None and row["scheduled_at"] is None
        assert (row["progress"], row["current_step"], row["step_label"]) == (0, 0, None)
        assert (row["started_at"], row["completed_at"], row["error_message"], row["result"]) == (None,) * 4
    if status == JobStatus.RETRYING:
        assert row["scheduled_at"] is not None


async def run_sequence(database_url: str, steps: list[tuple]) -> None:
    s = fast_settings(lease_seconds=5)
    pool = await create_pool(database_url, min_size=1, max_size=4)
    try:
        # CASCADE: later migrations add tables that reference jobs (deliveries, markers, files).
        await pool.execute("TRUNCATE jobs, workers, audit_logs CASCADE")
        for w in WORKERS:
            await pool.execute(Q.heartbeat_worker, w, "h", 1, 4)
        jobs = [await insert_job(pool, org=org, user=user, max_retries=2) for org, user in OWNERS]
        engines = {w: Worker(database_url, s, worker_id=w) for w in WORKERS}
        repos = {w: WorkerRepository(pool, w) for w in WORKERS}
        writers = {w: Writer(pool, w, progress_interval=0) for w in WORKERS}
        claimed: dict[str, dict[uuid.UUID, Job]] = {w: {} for w in WORKERS}
        before = {r["id"]: r["status"] for r in await pool.fetch("SELECT id, status FROM jobs")}
        for step in steps:
            kind = step[0]
            if kind == "claim":
                for job in await repos[step[1]].claim(step[2], ORG_LIMIT):
                    claimed[step[1]][job.id] = job
            elif kind == "finish":
                # The worker's own decisions, for the job as it claimed it (or, a stale
                # write, as it is now).
                w, job_id = step[1], jobs[step[2]]
                job = claimed[w].get(job_id) or Job.from_row(
                    await pool.fetchrow("SELECT * FROM jobs WHERE id = $1", job_id)
                )
                ctx = LiveJobContext(job, None, pool=pool, settings=s, report=lambda _: None)
                engine = engines[w]
                if step[3] == "ok":
                    outcome = engine._success(ctx, {"ok": True})
                elif step[3] == "shutdown":
                    ctx.stop_reason = StopReason.SHUTDOWN
                    outcome = engine._failure(ctx, asyncio.CancelledError())
                else:
                    exc = PermanentError("permanent") if step[3] == "permanent" else RetryLater("transient")
                    outcome = engine._failure(ctx, exc)
                assert outcome is not None
                writers[w].finish(outcome)
                await writers[w].flush()
            elif kind == "progress":
                w, job_id = step[1], jobs[step[2]]
                state = types.SimpleNamespace(job_id=job_id, progress=step[3], step=1, label="x", urgent=True)
                writers[w].progress(state)  # type: ignore[arg-type]
                await writers[w].flush()
            elif kind == "release":
                writers[step[1]].release(jobs[step[2]])
                await writers[step[1]].flush()
            elif kind == "cancel":
                await pool.fetchrow(Q.cancel_job, *OWNERS[step[1]], jobs[step[1]])
            elif kind == "retry":
                await pool.fetchrow(Q.retry_job, *OWNERS[step[1]], jobs[step[1]])
            elif kind == "die":
                await pool.execute("UPDATE workers SET heartbeat_at = now() - interval '1 hour' WHERE id = $1", step[1])
                await Rescuer(pool, s).run_once()
                await pool.execute(Q.heartbeat_worker, step[1], "h", 1, 4)  # it restarts
                claimed[step[1]].clear()
            rows = await pool.fetch("SELECT * FROM jobs")
            for row in rows:
                assert is_allowed(before[row["id"]], row["status"]), (step, before[row["id"]], row["status"])
                check_invariants(row)
            for org in ("org_acme", "org_globex"):
                held = sum(1 for r in rows if r["organization_id"] == org and r["locked_by"] is not None)
                assert held <= ORG_LIMIT
            before = {r["id"]: r["status"] for r in rows}
    finally:
        await pool.close()


@hsettings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(actions, min_size=1, max_size=25))
def test_random_sequences_stay_legal(database_url: str, steps: list[tuple]) -> None:
    asyncio.run(run_sequence(database_url, steps))
