"""Pickup latency: an idle worker process, jobs inserted one at a time 50 ms apart;
latency = processor start - the moment just before the INSERT.

    .venv/bin/python benchmarks/pickup_latency.py --jobs 200

Prints p50/p95/p99/max in ms (also from the INSERT's return, as the peers' harness does).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import tempfile
import time

import asyncpg

from common import DEFAULT_SERVER, fresh_database, peak_rss_mb, spawn_worker, stop, wait_for_workers

INSERT = """INSERT INTO jobs (organization_id, user_id, job_type, payload, total_steps)
VALUES ('org_b000', 'u_org_b000', 'bench_latency', jsonb_build_object('seq', $1::int), 0)"""


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]


async def run(args: argparse.Namespace) -> dict[str, object]:
    url = await fresh_database(args.server, args.database, 1)
    lat_file = os.path.join(tempfile.mkdtemp(prefix="jobrunner-latency-"), "lat")
    conn = await asyncpg.connect(url)
    worker = spawn_worker(url, args.concurrency, {"BENCH_LAT": lat_file})
    try:
        await wait_for_workers(conn, 1)
        stmt = await conn.prepare(INSERT)
        for seq in range(-5, 0):  # warm-up
            await stmt.fetch(seq)
            await asyncio.sleep(0.05)
        await asyncio.sleep(2)
        before: dict[int, float] = {}
        after: dict[int, float] = {}
        start = time.monotonic()
        for seq in range(args.jobs):
            await asyncio.sleep(max(0.0, start + seq * args.interval - time.monotonic()))
            before[seq] = time.time()
            await stmt.fetch(seq)
            after[seq] = time.time()
        deadline = time.monotonic() + 10
        seen: dict[int, float] = {}
        while time.monotonic() < deadline:
            with open(lat_file) as f:
                seen = {int(a): float(b) for a, b in (line.split() for line in f if line.strip())}
            if all(seq in seen for seq in before):
                break
            await asyncio.sleep(0.1)
        rss = peak_rss_mb(worker.pid)
    finally:
        stop(worker)
        await conn.close()
    from_call = [(seen[s] - before[s]) * 1000 for s in before if s in seen]
    from_return = [(seen[s] - after[s]) * 1000 for s in before if s in seen]
    insert_ms = [(after[s] - before[s]) * 1000 for s in before]
    return {
        "bench": "pickup_latency",
        "seen": f"{len(from_call)}/{len(before)}",
        "from_insert_call_ms": {
            p: round(percentile(from_call, q), 2) for p, q in (("p50", 50), ("p95", 95), ("p99", 99), ("max", 100))
        },
        "from_insert_return_ms": {
            p: round(percentile(from_return, q), 2) for p, q in (("p50", 50), ("p95", 95), ("p99", 99))
        },
        "insert_call_p50_ms": round(statistics.median(insert_ms), 2),
        "worker_vmhwm_mb": rss,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=200)
    parser.add_argument("--interval", type=float, default=0.05)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--server", default=os.environ.get("BENCH_SERVER_URL", DEFAULT_SERVER))
    parser.add_argument("--database", default="jobrunner_bench_latency")
    args = parser.parse_args()
    print(json.dumps(asyncio.run(run(args))))


if __name__ == "__main__":
    main()
