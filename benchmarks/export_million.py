"""Export figures with 1,000,000 quotes in one organization (issue 4, "Figures").

What it measures, on one database it fills itself (``INSERT ... SELECT generate_series``):

1. psql's ``\\copy (<the quotes report's SELECT>) to 'file' csv header`` wall time: the
   baseline.
2. The export processor end to end (validation, count, COPY to the file, publish, record)
   for CSV, JSON and XLSX, each in a fresh child process, at 100,000 rows (org_globex
   holds that many) and at --rows rows (org_acme): wall time, peak RSS and its growth over
   the child's RSS before the export started. Targets: CSV at most 1.5x psql; XLSX at
   most 15 s per million rows (issue 15); RSS growth between the sizes under 100 MB.
3. With --url (a running ``jobrunner run``/``serve`` + worker on the same database): a CSV
   export job from POST to ``succeeded`` through the HTTP API, polling as a frontend does
   (following ``Retry-After``), and how many polls that took.

Full run (the lead's quiet machine; several minutes, ~1 GB of disk):
    .venv/bin/python benchmarks/export_million.py
Quick check:
    .venv/bin/python benchmarks/export_million.py --rows 50000 --small 10000 --formats csv,json,xlsx
Job path against a running service (its database and a token for user_admin):
    .venv/bin/python benchmarks/export_million.py --database-url $DATABASE_URL --keep-database \\
        --url http://127.0.0.1:3000 --token "$(jobrunner token --user user_admin)"
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from jobrunner.db import migrate
from jobrunner.db.pool import create_pool
from jobrunner.db.seed import seed_identities

DEFAULT_SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"
BENCH_DATABASE = "jobrunner_bench_export"

SEED_CUSTOMERS = """
INSERT INTO customers (organization_id, name, email, country)
SELECT $1, 'Customer ' || i, $1 || '-' || i || '@bench.test', 'CH' FROM generate_series(1, 1000) i
ON CONFLICT DO NOTHING
"""
SEED_QUOTES = """
INSERT INTO quotes (organization_id, quote_number, customer_id, status, currency, subtotal, tax, total, valid_until, created_at)
SELECT $1, 'B-' || i, c.ids[1 + i % array_length(c.ids, 1)],
       (ARRAY['draft','sent','accepted','rejected','expired'])[1 + i % 5], (ARRAY['EUR','USD','CHF'])[1 + i % 3],
       s.sub, round(s.sub * 0.077, 2), s.sub + round(s.sub * 0.077, 2), date '2025-01-01' + i % 365,
       timestamptz '2024-01-01Z' + (i || ' seconds')::interval
  FROM generate_series(1, $2) i
 CROSS JOIN (SELECT array_agg(id) AS ids FROM customers WHERE organization_id = $1) c
 CROSS JOIN LATERAL (SELECT round((i % 100000)::numeric / 3.0, 2) AS sub) s
"""
INSERT_JOB = """
INSERT INTO jobs (id, organization_id, user_id, job_type, status, payload, total_steps, locked_by, started_at)
VALUES ($1, $2, $3, 'export_report', 'running', $4, 6, 'benchmark', now())
"""


def with_database(url: str, name: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path="/" + name))


async def prepare(args: argparse.Namespace) -> str:
    """The benchmark database, migrated, with org_acme holding --rows quotes and org_globex
    holding --small quotes."""
    if args.database_url:
        url = args.database_url
    else:
        admin = await asyncpg.connect(DEFAULT_SERVER)
        await admin.execute(f"DROP DATABASE IF EXISTS {BENCH_DATABASE} WITH (FORCE)")
        await admin.execute(f"CREATE DATABASE {BENCH_DATABASE}")
        await admin.close()
        url = with_database(DEFAULT_SERVER, BENCH_DATABASE)
    migrate.upgrade(url)
    conn = await asyncpg.connect(url)
    try:
        await seed_identities(conn)
        for org, rows in (("org_acme", args.rows), ("org_globex", args.small)):
            have = await conn.fetchval("SELECT count(*) FROM quotes WHERE organization_id = $1", org)
            if have < rows:
                started = time.perf_counter()
                await conn.execute(SEED_CUSTOMERS, org)
                await conn.execute(SEED_QUOTES.replace("'B-' || i", f"'B{have}-' || i"), org, rows - have)
                print(f"seeded {rows - have:,} quotes for {org} in {time.perf_counter() - started:.1f} s")
        await conn.execute("VACUUM ANALYZE quotes")
        await conn.execute("VACUUM ANALYZE customers")
    finally:
        await conn.close()
    return url


def psql_copy(url: str, out: Path) -> float:
    """psql's \\copy of the exact SELECT the CSV writer runs, literals inlined."""
    from jobrunner.reports import REPORTS
    from jobrunner.reports.sql import csv_select

    select = csv_select(REPORTS["quotes"]).replace("$1::text", "'org_acme'::text")
    for n in (2, 3, 4):
        select = select.replace(f"${n}::", "NULL::")
    select = " ".join(select.split())
    started = time.perf_counter()
    subprocess.run(["psql", "-q", "-X", url, "-c", f"\\copy ({select}) to '{out}' csv header"], check=True)
    return time.perf_counter() - started


def rss_kib() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


async def child(url: str, fmt: str, organization_id: str, data_dir: str) -> dict:
    """One export through the processor, in this (fresh) process."""
    import jobrunner.processors.export_report  # noqa: F401
    from jobrunner.settings import Settings
    from jobrunner.worker.standalone import in_memory_context, run_in_memory

    pool = await create_pool(url, min_size=2, max_size=4)
    user_id = "user_admin" if organization_id == "org_acme" else "user_globex"
    payload = {"reportType": "quotes", "format": fmt}
    job_id = uuid.uuid4()
    await pool.execute(INSERT_JOB, job_id, organization_id, user_id, payload)
    ctx = in_memory_context(
        "export_report",
        job_id=job_id,
        organization_id=organization_id,
        user_id=user_id,
        payload=payload,
        pool=pool,
        settings=Settings(data_dir=Path(data_dir)),
    )
    baseline = rss_kib()
    started = time.perf_counter()
    result = await run_in_memory(ctx)
    elapsed = time.perf_counter() - started
    peak = rss_kib()
    await pool.close()
    return {
        "format": fmt,
        "rows": result["recordCount"],
        "bytes": result["fileSize"],
        "seconds": elapsed,
        "peak_rss_mb": peak / 1024,
        "rss_growth_mb": (peak - baseline) / 1024,
    }


def run_child(url: str, fmt: str, organization_id: str, data_dir: Path) -> dict:
    output = subprocess.run(
        [sys.executable, __file__, "--child", fmt, organization_id, str(data_dir), "--database-url", url],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    shutil.rmtree(data_dir / "exports", ignore_errors=True)
    return json.loads(output.strip().splitlines()[-1])


async def job_path(base_url: str, token: str) -> dict:
    """A CSV export job through the HTTP API, polled as the document recommends."""
    import httpx

    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=base_url, headers=headers, timeout=60) as client:
        started = time.perf_counter()
        response = await client.post(
            "/v1/jobs", json={"jobType": "export_report", "payload": {"reportType": "quotes", "format": "csv"}}
        )
        response.raise_for_status()
        job_id = response.json()["jobId"]
        polls, wait = 0, float(response.headers.get("Retry-After", 2))
        while True:
            await asyncio.sleep(wait)
            status = await client.get(f"/v1/jobs/{job_id}/status")
            polls += 1
            job = status.json()["job"]
            if job["status"] in ("succeeded", "failed", "cancelled"):
                break
            wait = float(status.headers.get("Retry-After", 5))
        elapsed = time.perf_counter() - started
        # Without the polling delay: creation to completion as the service recorded it.
        server = (
            dt.datetime.fromisoformat(job["completedAt"]) - dt.datetime.fromisoformat(job["createdAt"])
        ).total_seconds()
        figures = {
            "status": job["status"],
            "polls": polls,
            "seconds_until_seen": round(elapsed, 2),
            "seconds_created_to_completed": server,
            "records": (job["result"] or {}).get("recordCount"),
        }
        if job["status"] == "succeeded":
            # The signed link, as a plain browser link: no Authorization header.
            async with httpx.AsyncClient(base_url=base_url, timeout=60) as browser:
                started = time.perf_counter()
                size = 0
                async with browser.stream("GET", job["result"]["downloadUrl"]) as download:
                    download.raise_for_status()
                    async for chunk in download.aiter_bytes():
                        size += len(chunk)
                figures.update(download_bytes=size, download_seconds=round(time.perf_counter() - started, 2))
        return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000, help="quotes in org_acme (the big export)")
    parser.add_argument("--small", type=int, default=100_000, help="quotes in org_globex (the small export)")
    parser.add_argument("--formats", default="csv,json,xlsx")
    parser.add_argument("--database-url", help="use this database instead of a fresh local one")
    parser.add_argument("--keep-database", action="store_true", help="do not drop the fresh database at the end")
    parser.add_argument("--url", help="base URL of a running service for the job path")
    parser.add_argument("--token", help="Bearer token of user_admin for --url")
    parser.add_argument("--child", nargs=3, metavar=("FORMAT", "ORG", "DATA_DIR"), help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.child:
        import uvloop  # the worker runs on uvloop (service.py); so does its stand-in here

        print(json.dumps(uvloop.run(child(args.database_url, *args.child))))
        return

    url = asyncio.run(prepare(args))
    work = Path(tempfile.mkdtemp(prefix="jobrunner-bench-export-"))
    try:
        psql_seconds = psql_copy(url, work / "psql.csv")
        psql_bytes = (work / "psql.csv").stat().st_size
        print(f"\npsql \\copy, {args.rows:,} rows: {psql_seconds:.2f} s, {psql_bytes / 1e6:.1f} MB")
        (work / "psql.csv").unlink()
        print(f"\n{'format':6} {'rows':>10} {'MB':>8} {'seconds':>8} {'peak RSS MB':>12} {'RSS growth MB':>14}")
        results = {}
        for fmt in args.formats.split(","):
            for org in ("org_globex", "org_acme"):
                figures = run_child(url, fmt, org, work)
                results[(fmt, org)] = figures
                print(
                    f"{fmt:6} {figures['rows']:>10,} {figures['bytes'] / 1e6:>8.1f} {figures['seconds']:>8.2f} "
                    f"{figures['peak_rss_mb']:>12.1f} {figures['rss_growth_mb']:>14.1f}"
                )
        if ("csv", "org_acme") in results:
            ratio = results[("csv", "org_acme")]["seconds"] / psql_seconds
            print(f"\nCSV export / psql \\copy: {ratio:.2f}x (target <= 1.5x)")
        if ("xlsx", "org_acme") in results:
            xlsx = results[("xlsx", "org_acme")]
            print(f"XLSX export: {xlsx['seconds']:.2f} s for {xlsx['rows']:,} rows (target <= 15 s per million)")
        for fmt in args.formats.split(","):
            small, big = results[(fmt, "org_globex")], results[(fmt, "org_acme")]
            print(
                f"{fmt}: peak RSS {small['peak_rss_mb']:.1f} MB at {small['rows']:,} rows, "
                f"{big['peak_rss_mb']:.1f} MB at {big['rows']:,} rows "
                f"(difference {big['peak_rss_mb'] - small['peak_rss_mb']:+.1f} MB; target < 100 MB)"
            )
        if args.url:
            if not args.token:
                parser.error("--url needs --token (jobrunner token --user user_admin)")
            figures = asyncio.run(job_path(args.url, args.token))
            print(f"\nCSV export job via {args.url}: {figures}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
        if not args.database_url and not args.keep_database:

            async def drop() -> None:
                admin = await asyncpg.connect(DEFAULT_SERVER)
                await admin.execute(f"DROP DATABASE IF EXISTS {BENCH_DATABASE} WITH (FORCE)")
                await admin.close()

            asyncio.run(drop())


if __name__ == "__main__":
    main()
