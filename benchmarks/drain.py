"""Drain throughput: enqueue N no-op jobs over M organizations (per-organization limit on),
then time worker processes draining them.

    .venv/bin/python benchmarks/drain.py --jobs 20000 --orgs 50 --workers 1 --reps 3
    .venv/bin/python benchmarks/drain.py --jobs 20000 --orgs 10000 --workers 1 --reps 3
    .venv/bin/python benchmarks/drain.py --jobs 20000 --orgs 10000 --claims    # claim p50/p99
    .venv/bin/python benchmarks/drain.py --jobs 20000 --orgs 50 --finished 1000000
    .venv/bin/python benchmarks/drain.py --jobs 20000 --orgs 50 --flow   # flow-controlled claim

--claims times the claim statement alone: one client claims batches (--batch) and marks
them succeeded until the queue is empty (no worker), and prints the claim's p50/p99/max.
--finished N first adds N finished jobs (spread over the organizations), to compare a
drain next to a million old rows with one on an empty table.

drain jobs/s = N / (first job start -> none of the N seen waiting or held in the database, polled
every 0.1 s), as the peers' harness measures; "DB-ts" ends at the last completed_at instead.
Also printed: the bulk enqueue rate, each worker's peak RSS (VmHWM), and the CPU time per
job of the worker processes and of the database sessions they opened (the database server
must be on this machine: it is read from /proc).
"""

from __future__ import annotations

import argparse
import asyncio
import glob
import json
import os
import statistics
import tempfile
import time
from collections.abc import Callable

import asyncpg

from common import DEFAULT_SERVER, cpu_seconds, fresh_database, peak_rss_mb, spawn_worker, stop, wait_for_workers

ENQUEUE = """
INSERT INTO jobs (organization_id, user_id, job_type, payload, total_steps)
SELECT o, 'u_' || o, 'bench_noop', '{}', 0
  FROM unnest($1::text[]) AS o"""


# Is any job of the backlog still waiting or held? (Partial indexes: cheap to poll every
# 0.1 s even next to a million finished rows, unlike a count of the succeeded ones.)
PENDING = """
SELECT EXISTS (SELECT 1 FROM jobs WHERE status IN ('queued', 'retrying') AND locked_by IS NULL)
    OR EXISTS (SELECT 1 FROM jobs WHERE locked_by IS NOT NULL)"""

# Finished jobs, as old as retention would keep them: the table's history.
FINISHED = """
INSERT INTO jobs (organization_id, user_id, job_type, payload, total_steps, status, progress,
                  started_at, completed_at, created_at, attempts)
SELECT o, 'u_' || o, 'bench_noop', '{}', 0, 'succeeded', 100,
       now() - interval '2 days', now() - interval '2 days', now() - interval '2 days', 1
  FROM (SELECT 'org_b' || lpad((i % $2)::text, 3, '0') AS o FROM generate_series(1, $1) i) s"""

# The claim alone, and the succeeded write a worker would make (plain SQL, so that the
# same script measures an older tree's claim too).
CLAIM = "SELECT id FROM jobrunner_claim_jobs($1, $2, $3)"
SUCCEED = """
UPDATE jobs SET status = 'succeeded', progress = 100, completed_at = now(), locked_by = NULL,
                locked_at = NULL, updated_at = now()
 WHERE id = ANY($1::uuid[])"""


async def prepare(args: argparse.Namespace) -> tuple[str, asyncpg.Connection, float]:
    """A fresh database with the finished history (--finished) and the backlog; answers
    the enqueue rate."""
    url = await fresh_database(args.server, args.database, args.orgs)
    conn = await asyncpg.connect(url)
    if args.finished:
        await conn.execute(FINISHED, args.finished, args.orgs)
        await conn.execute("VACUUM ANALYZE jobs")
    orgs = [f"org_b{i % args.orgs:03d}" for i in range(args.jobs)]
    for statement in args.sql:
        await conn.execute(statement)
    if args.flow:
        # Flow control on (migration 0014), with the same limit as without: every
        # organization on the 'pro' tier (5 running, weight 1).
        await conn.execute("INSERT INTO organization_tiers SELECT DISTINCT o, 'pro' FROM unnest($1::text[]) o", orgs)
    t0 = time.perf_counter()
    await conn.execute(ENQUEUE, orgs)
    enqueue_rate = args.jobs / (time.perf_counter() - t0)
    await conn.execute("ANALYZE jobs")
    await conn.execute("CHECKPOINT")
    return url, conn, enqueue_rate


async def claim_run(args: argparse.Namespace) -> dict[str, float | list]:
    """Claim batches of --batch until the queue is empty; the claim statement's latency."""
    _, conn, _ = await prepare(args)
    try:
        times: list[float] = []
        while True:
            t0 = time.perf_counter()
            ids = [r["id"] for r in await conn.fetch(CLAIM, "bench-claimer", args.batch, args.org_limit)]
            times.append(time.perf_counter() - t0)
            if not ids:
                break
            await conn.execute(SUCCEED, ids)
        times.sort()
        ms = [t * 1000 for t in times]
        return {
            "claims": len(ms),
            "claim_p50_ms": round(ms[len(ms) // 2], 2),
            "claim_p99_ms": round(ms[min(len(ms) - 1, int(len(ms) * 0.99))], 2),
            "claim_max_ms": round(ms[-1], 2),
        }
    finally:
        await conn.close()


async def one_run(
    args: argparse.Namespace, worker_url: Callable[[str], str] = str, worker_env: dict[str, str] | None = None
) -> dict[str, float | list]:
    """``worker_url``/``worker_env``: how workers reach the database (benchmarks/deployment.py
    passes PgBouncer's address and ``JOBRUNNER_DATABASE_POOLER``)."""
    url, conn, enqueue_rate = await prepare(args)
    stamp_dir = tempfile.mkdtemp(prefix="jobrunner-drain-")
    stamp = os.path.join(stamp_dir, "first")
    try:
        env = {"BENCH_STAMP": stamp, "JOBRUNNER_ORG_CONCURRENCY_LIMIT": str(args.org_limit), **(worker_env or {})}
        spawned = time.time()
        workers = [spawn_worker(worker_url(url), args.concurrency, env) for _ in range(args.workers)]
        try:
            await wait_for_workers(conn, args.workers)
            deadline = time.monotonic() + args.timeout
            while await conn.fetchval(PENDING):
                if time.monotonic() > deadline or any(w.poll() is not None for w in workers):
                    raise RuntimeError("drain did not finish")
                await asyncio.sleep(0.1)
            done = time.time()
            rss = [peak_rss_mb(w.pid) for w in workers]
            # CPU per job: the worker processes, and the database sessions they opened
            # (every session on the benchmark database but this one; both live since the
            # workers started, so their whole CPU time is the drain's).
            worker_cpu = sum(cpu_seconds(w.pid) for w in workers)
            sessions = await conn.fetch(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
            database_cpu = sum(cpu_seconds(r["pid"]) for r in sessions)
        finally:
            for w in workers:
                stop(w)
        first = min(float(open(p).read()) for p in glob.glob(stamp + ".*"))
        last_db = (await conn.fetchval("SELECT extract(epoch FROM max(completed_at)) FROM jobs")) or done
        return {
            "enqueue_jobs_per_s": round(enqueue_rate),
            "drain_jobs_per_s": round(args.jobs / (done - first)),
            "db_ts_jobs_per_s": round(args.jobs / (float(last_db) - first)),
            "wall_jobs_per_s": round(args.jobs / (done - spawned)),
            "worker_vmhwm_mb": rss,
            "worker_cpu_us_per_job": round(worker_cpu / args.jobs * 1e6, 1),
            "database_cpu_us_per_job": round(database_cpu / args.jobs * 1e6, 1),
        }
    finally:
        await conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=20000)
    parser.add_argument("--orgs", type=int, default=50)
    parser.add_argument("--org-limit", type=int, default=5)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--concurrency", type=int, default=100)
    parser.add_argument("--reps", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=600)
    parser.add_argument("--server", default=os.environ.get("BENCH_SERVER_URL", DEFAULT_SERVER))
    parser.add_argument("--database", default="jobrunner_bench")
    parser.add_argument("--finished", type=int, default=0, help="finished jobs in the table before the drain")
    parser.add_argument(
        "--sql",
        action="append",
        default=[],
        help="a statement run on the fresh database before the backlog (repeatable), to measure"
        " what one part costs, e.g. --sql 'ALTER TABLE jobs DISABLE TRIGGER jobs_notify_events_update'",
    )
    parser.add_argument("--claims", action="store_true", help="time the claim statement alone (no workers)")
    parser.add_argument("--batch", type=int, default=100, help="--claims: jobs asked per claim")
    parser.add_argument(
        "--flow", action="store_true", help="flow control on: every organization on the 'pro' tier (docs/flow-control.md)"
    )
    args = parser.parse_args()
    if args.claims:
        claims = [asyncio.run(claim_run(args)) for _ in range(args.reps)]
        p99 = [r["claim_p99_ms"] for r in claims]
        print(
            json.dumps(
                {
                    "bench": "claim",
                    "jobs": args.jobs,
                    "orgs": args.orgs,
                    "finished": args.finished,
                    "batch": args.batch,
                    "claim_p99_ms_median": statistics.median(p99),
                    "runs": claims,
                }
            )
        )
        return
    runs = [asyncio.run(one_run(args)) for _ in range(args.reps)]
    drains = [r["drain_jobs_per_s"] for r in runs]
    summary = {
        "bench": "drain",
        "jobs": args.jobs,
        "orgs": args.orgs,
        "finished": args.finished,
        "org_limit": args.org_limit,
        "flow": args.flow,
        "workers": args.workers,
        "concurrency": args.concurrency,
        "drain_jobs_per_s_median": statistics.median(drains),
        "drain_jobs_per_s_min_max": [min(drains), max(drains)],
        "runs": runs,
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
