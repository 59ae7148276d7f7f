"""Drain throughput: enqueue N no-op jobs over M organizations (per-organization limit on),
then time worker processes draining them.

    .venv/bin/python benchmarks/drain.py --jobs 20000 --orgs 50 --workers 1 --reps 3
    .venv/bin/python benchmarks/drain.py --jobs 20000 --orgs 50 --workers 2 --reps 3

drain jobs/s = N / (first job start -> all N seen succeeded in the database, polled every
0.1 s), as the peers' harness measures; "DB-ts" ends at the last completed_at instead.
Also printed: the bulk enqueue rate and each worker's peak RSS (VmHWM).
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

from common import DEFAULT_SERVER, fresh_database, peak_rss_mb, spawn_worker, stop, wait_for_workers

ENQUEUE = """
INSERT INTO jobs (organization_id, user_id, job_type, payload, total_steps)
SELECT o, 'u_' || o, 'bench_noop', '{}', 0
  FROM unnest($1::text[]) AS o"""


async def one_run(
    args: argparse.Namespace, worker_url: Callable[[str], str] = str, worker_env: dict[str, str] | None = None
) -> dict[str, float | list]:
    """``worker_url``/``worker_env``: how workers reach the database (benchmarks/deployment.py
    passes PgBouncer's address and ``JOBRUNNER_DATABASE_POOLER``)."""
    url = await fresh_database(args.server, args.database, args.orgs)
    conn = await asyncpg.connect(url)
    stamp_dir = tempfile.mkdtemp(prefix="jobrunner-drain-")
    stamp = os.path.join(stamp_dir, "first")
    try:
        orgs = [f"org_b{i % args.orgs:03d}" for i in range(args.jobs)]
        t0 = time.perf_counter()
        await conn.execute(ENQUEUE, orgs)
        enqueue_rate = args.jobs / (time.perf_counter() - t0)
        await conn.execute("ANALYZE jobs")
        await conn.execute("CHECKPOINT")
        env = {"BENCH_STAMP": stamp, "JOBRUNNER_ORG_CONCURRENCY_LIMIT": str(args.org_limit), **(worker_env or {})}
        spawned = time.time()
        workers = [spawn_worker(worker_url(url), args.concurrency, env) for _ in range(args.workers)]
        try:
            await wait_for_workers(conn, args.workers)
            deadline = time.monotonic() + args.timeout
            while await conn.fetchval("SELECT count(*) FROM jobs WHERE status = 'succeeded'") < args.jobs:
                if time.monotonic() > deadline or any(w.poll() is not None for w in workers):
                    raise RuntimeError("drain did not finish")
                await asyncio.sleep(0.1)
            done = time.time()
            rss = [peak_rss_mb(w.pid) for w in workers]
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
    args = parser.parse_args()
    runs = [asyncio.run(one_run(args)) for _ in range(args.reps)]
    drains = [r["drain_jobs_per_s"] for r in runs]
    summary = {
        "bench": "drain",
        "jobs": args.jobs,
        "orgs": args.orgs,
        "org_limit": args.org_limit,
        "workers": args.workers,
        "concurrency": args.concurrency,
        "drain_jobs_per_s_median": statistics.median(drains),
        "drain_jobs_per_s_min_max": [min(drains), max(drains)],
        "runs": runs,
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
