"""Random sequences of API actions (cancel, manual retry) and worker events (claim,
progress, outcomes, stale writes, death and rescue) never reach an illegal state.

The workers' writes go through the engine's own code (claim query, ``Writer``, the
worker's retry decision, ``Rescuer``); the API's writes are the SQL the API runs. The
schema's CHECK constraints raise on an illegal row; the transitions, the per-organization
limit and the retry budget are checked after every action.
"""

from __future__ import annotations

import asyncio
import types

from hypothesis import HealthCheck, given, settings as hsettings, strategies as st

from jobrunner.db.pool import create_pool
from jobrunner.db.sql import Q
from jobrunner.worker.loop import Worker
from jobrunner.worker.rescuer import Rescuer
from jobrunner.worker.writer import Outcome, Writer
from tests.integration.worker.conftest import fast_settings
from tests.support.jobs import insert_job

ORG_LIMIT = 2
WORKERS = ("w1", "w2")
ALLOWED = {
    "queued": {"queued", "running", "cancelled"},
    "running": {"running", "succeeded", "failed", "retrying", "cancelled", "queued"},
    "retrying": {"retrying", "succeeded", "failed", "cancelled"},
    "failed": {"failed", "queued"},
    "succeeded": {"succeeded"},
    "cancelled": {"cancelled"},
}
CANCEL = """UPDATE jobs SET status = 'cancelled', cancelled_at = now(), completed_at = now(), updated_at = now()
             WHERE id = $1 AND status IN ('queued', 'running', 'retrying')"""
MANUAL_RETRY = """UPDATE jobs SET status = 'queued', retry_count = retry_count + 1, error_message = NULL,
                  result = NULL, started_at = NULL, completed_at = NULL, progress = 0, current_step = 0
                  WHERE id = $1 AND status = 'failed' AND retry_count < max_retries"""

worker_name = st.sampled_from(WORKERS)
job_index = st.integers(0, 3)
actions = st.one_of(
    st.tuples(st.just("claim"), worker_name, st.integers(1, 4)),
    st.tuples(st.just("finish"), worker_name, job_index, st.sampled_from(["ok", "permanent", "transient", "handback"])),
    st.tuples(st.just("progress"), worker_name, job_index, st.integers(0, 100)),
    st.tuples(st.just("release"), worker_name, job_index),
    st.tuples(st.just("cancel"), job_index),
    st.tuples(st.just("retry"), job_index),
    st.tuples(st.just("die"), worker_name),
)


async def run_sequence(database_url: str, steps: list[tuple]) -> None:
    s = fast_settings(lease_seconds=5)
    pool = await create_pool(database_url, min_size=1, max_size=4)
    try:
        # CASCADE: later migrations add tables that reference jobs (deliveries, markers, files).
        await pool.execute("TRUNCATE jobs, workers, audit_logs CASCADE")
        for w in WORKERS:
            await pool.execute(Q.heartbeat_worker, w, "h", 1, 4)
        jobs = [await insert_job(pool, org="org_acme" if i < 3 else "org_globex", user="user_admin" if i < 3 else "user_globex",
                                 max_retries=2) for i in range(4)]
        engines = {w: Worker(database_url, s, worker_id=w) for w in WORKERS}
        writers = {w: Writer(pool, w, progress_interval=0) for w in WORKERS}
        claimed: dict[str, dict] = {w: {} for w in WORKERS}
        before = {r["id"]: r["status"] for r in await pool.fetch("SELECT id, status FROM jobs")}
        for step in steps:
            kind = step[0]
            if kind == "claim":
                for row in await pool.fetch(Q.claim_jobs, step[1], step[2], ORG_LIMIT):
                    claimed[step[1]][row["id"]] = row
            elif kind == "finish":
                w, job_id = step[1], jobs[step[2]]
                row = claimed[w].get(job_id) or await pool.fetchrow("SELECT * FROM jobs WHERE id = $1", job_id)
                ctx = types.SimpleNamespace(job_id=job_id, row=row)
                outcome = {
                    "ok": Outcome(job_id, "succeeded", result={"ok": True}),
                    "permanent": Outcome(job_id, "failed", error="permanent"),
                    "transient": engines[w]._transient(ctx, "transient", None),
                    "handback": Outcome(job_id, "queued" if row["status"] == "running" else "retrying"),
                }[step[3]]
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
                await pool.execute(CANCEL, jobs[step[1]])
            elif kind == "retry":
                await pool.execute(MANUAL_RETRY, jobs[step[1]])
            elif kind == "die":
                await pool.execute("UPDATE workers SET heartbeat_at = now() - interval '1 hour' WHERE id = $1", step[1])
                await Rescuer(pool, s).run_once()
                await pool.execute(Q.heartbeat_worker, step[1], "h", 1, 4)  # it restarts
                claimed[step[1]].clear()
            rows = await pool.fetch("SELECT * FROM jobs")
            for row in rows:
                assert row["status"] in ALLOWED[before[row["id"]]], (step, before[row["id"]], row["status"])
                assert row["retry_count"] <= row["max_retries"]
                assert row["status"] != "succeeded" or row["progress"] == 100
                assert row["locked_by"] in (None, *WORKERS)
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
