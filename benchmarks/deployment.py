"""Deployment figures (issue 12 §1–§3), each pair side by side in one run:

1. status endpoint (wrk, as ``status_polling.py``) with the API's pool straight to
   PostgreSQL vs through PgBouncer in transaction mode (``JOBRUNNER_DATABASE_POOLER=
   transaction``: no prepared-statement cache);
2. drain (as ``drain.py``) with the workers straight to PostgreSQL vs through PgBouncer
   (no LISTEN: they poll);
3. a CSV export of --rows quotes (the processor in a fresh process, as
   ``export_million.py``) to local disk vs to an S3-compatible store (moto's server on
   loopback: a Python process on the same cores, so a pessimistic stand-in for S3/MinIO).

    .venv/bin/python benchmarks/deployment.py                          # the lead's quiet machine
    .venv/bin/python benchmarks/deployment.py --rows 200000 --seconds 5 --jobs 5000   # quick

Needs wrk, pgbouncer (Debian packages) and moto[server] (a dev dependency).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent)]

import drain  # noqa: E402
import export_million  # noqa: E402
import status_polling  # noqa: E402
from tests.support.object_store import moto_server  # noqa: E402
from tests.support.pgbouncer import pgbouncer, through  # noqa: E402

POOLED = {"JOBRUNNER_DATABASE_POOLER": "transaction"}
STATUS_DATABASE = "jobrunner_bench_deploy_status"


def status_figures(args: argparse.Namespace, port: int) -> dict[str, dict]:
    from jobrunner.auth.tokens import issue_token

    ids = asyncio.run(status_polling._prepare_database(args.server, STATUS_DATABASE, args.jobs))
    token = issue_token(status_polling.SECRET, status_polling.USER, status_polling.ORG, ttl_seconds=3600)
    direct = status_polling._with_database(args.server, STATUS_DATABASE)
    env = {**os.environ, "BENCH_POOL_SIZE": "10", "BENCH_TOKEN": token, "BENCH_DATABASE_URL": direct}
    figures = {}
    with tempfile.TemporaryDirectory() as tmp:
        lua = Path(tmp) / "poll.lua"
        lua.write_text(status_polling.LUA % {"ids": ",".join(f'"{i}"' for i in ids), "token": token})
        for name, extra in (("direct", {}), ("pgbouncer", {**POOLED, "BENCH_DATABASE_URL": through(direct, port)})):
            figures[name] = status_polling._measure(
                name, "status_polling:jobrunner_app", {**env, **extra}, lua, args, ids[0]
            )
    return figures


def drain_figures(args: argparse.Namespace, port: int) -> dict[str, dict]:
    options = argparse.Namespace(
        jobs=args.jobs,
        orgs=50,
        org_limit=5,
        workers=1,
        concurrency=100,
        timeout=600,
        server=args.server,
        database="jobrunner_bench_deploy_drain",
        finished=0,
        flow=False,
    )
    return {
        "direct": asyncio.run(drain.one_run(options)),
        "pgbouncer": asyncio.run(drain.one_run(options, lambda url: through(url, port), POOLED)),
    }


def export_figures(args: argparse.Namespace) -> dict[str, dict]:
    options = argparse.Namespace(database_url=None, rows=args.rows, small=1000)
    url = asyncio.run(export_million.prepare(options))
    data_dir = Path(tempfile.mkdtemp(prefix="jobrunner-deploy-export-"))
    figures = {}
    try:
        figures["local disk"] = export_million.run_child(url, "csv", "org_acme", data_dir)
        with moto_server() as store:
            bucket = store.new_bucket()
            saved = dict(os.environ)
            os.environ.update(store.env, JOBRUNNER_STORAGE_URL=f"s3://{bucket}/bench")
            try:
                figures["object store"] = export_million.run_child(url, "csv", "org_acme", data_dir)
            finally:
                os.environ.clear()
                os.environ.update(saved)
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--server", default=drain.DEFAULT_SERVER)
    parser.add_argument("--rows", type=int, default=1_000_000, help="quotes in the CSV export")
    parser.add_argument("--jobs", type=int, default=20000, help="no-op jobs to drain")
    parser.add_argument("--seconds", type=int, default=30, help="wrk duration of each status run")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--only", default="status,drain,export")
    args = parser.parse_args()
    parts = set(args.only.split(","))
    print(f"load average at start: {os.getloadavg()}")
    with pgbouncer(args.server, pool_size=20) as port:
        if "status" in parts:
            print(f"\nstatus endpoint, {args.connections} pollers, {args.seconds} s each")
            for name, r in status_figures(args, port).items():
                print(
                    f"  {name:10} {r['rps']:>8.0f} req/s  p50 {r['p50_us'] / 1000:6.2f} ms  p99 {r['p99_us'] / 1000:6.2f} ms"
                    f"  non-2xx {r['non2xx']}  CPU {r.get('cpu_us', float('nan')):.0f} us/req"
                )
        if "drain" in parts:
            print(f"\ndrain, {args.jobs} no-op jobs over 50 organizations, one worker (concurrency 100)")
            for name, r in drain_figures(args, port).items():
                print(f"  {name:10} {r['drain_jobs_per_s']:>8} jobs/s  (DB-ts {r['db_ts_jobs_per_s']} jobs/s)")
    if "export" in parts:
        print(f"\nCSV export of {args.rows:,} quotes, processor in a fresh process")
        figures = export_figures(args)
        for name, r in figures.items():
            print(
                f"  {name:12} {r['seconds']:6.2f} s  {r['bytes'] / 1e6:7.1f} MB  peak RSS {r['peak_rss_mb']:.0f} MB"
                f" (+{r['rss_growth_mb']:.0f} MB)"
            )
        ratio = figures["object store"]["seconds"] / figures["local disk"]["seconds"]
        print(f"  object store / local disk: {ratio:.2f}x (target <= 1.3x)")
    print(f"\nload average at end: {os.getloadavg()}")


if __name__ == "__main__":
    main()
