"""Import throughput: a customers CSV imported by a ``data_processing`` job in a real worker
process (full row validation, batches with idempotency markers), side by side with
PostgreSQL's own ``\\copy`` of the same file into the same table with the same indexes.

    .venv/bin/python benchmarks/import_million.py                 # 1,000,000 rows (the figure)
    .venv/bin/python benchmarks/import_million.py --rows 50000    # a quick check

import rows/s = rows / (the job's started_at -> completed_at, from the database): the
header check, parsing and validating every row, writing in batches and finalizing; the
upload itself is not timed (it is a file copy). COPY rows/s = rows / wall time of
``psql -c "\\copy customers(name, email, country) from 'file' csv header"`` (the file has
no organization column: for the COPY run the column gets a default, removed afterwards).
Each run starts from an empty customers table. Also printed: the worker's peak RSS.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import asyncpg

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import DEFAULT_SERVER, fresh_database, peak_rss_mb, spawn_worker, stop, wait_for_workers  # noqa: E402

from jobrunner.db.pool import connect  # noqa: E402
from jobrunner.processors.data_processing import STEPS  # noqa: E402
from jobrunner.imports.samples import write_customers  # noqa: E402
from jobrunner.uploads.store import UploadStore, upload_key  # noqa: E402

ORG, USER = "org_b000", "u_org_b000"


def run_copy(url: str, path: Path) -> float:
    started = time.perf_counter()
    subprocess.run(
        [
            "psql",
            url,
            "-v",
            "ON_ERROR_STOP=1",
            "-q",
            "-c",
            f"\\copy customers(name, email, country) from '{path}' csv header",
        ],
        check=True,
    )
    return time.perf_counter() - started


async def copy_baseline(url: str, path: Path) -> float:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(f"ALTER TABLE customers ALTER COLUMN organization_id SET DEFAULT '{ORG}'")
        seconds = await asyncio.to_thread(run_copy, url, path)
        await conn.execute("ALTER TABLE customers ALTER COLUMN organization_id DROP DEFAULT")
        await conn.execute("TRUNCATE customers CASCADE")
        await conn.execute("VACUUM ANALYZE customers")
    finally:
        await conn.close()
    return seconds


async def import_job(url: str, path: Path, data_dir: Path, batch_size: int) -> tuple[float, dict, float | None]:
    store = UploadStore(data_dir / "uploads")
    upload_id = uuid.uuid4()
    target = store.path(upload_key(upload_id))
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(path, target)
    conn = await connect(url)
    worker = spawn_worker(
        url, concurrency=1, env={"JOBRUNNER_DATA_DIR": str(data_dir), "JOBRUNNER_IMPORT_BATCH_SIZE": str(batch_size)}
    )
    try:
        await wait_for_workers(conn, 1)
        await conn.execute(
            "INSERT INTO uploads (id, organization_id, user_id, filename, storage_key, size_bytes)"
            " VALUES ($1, $2, $3, 'customers.csv', $4, $5)",
            upload_id,
            ORG,
            USER,
            upload_key(upload_id),
            target.stat().st_size,
        )
        job_id = await conn.fetchval(
            "INSERT INTO jobs (organization_id, user_id, job_type, payload, total_steps) VALUES ($1, $2, 'data_processing', $3, $4)"
            " RETURNING id",
            ORG,
            USER,
            {"operation": "import", "dataset": "customers", "uploadId": str(upload_id), "mode": "insert"},
            len(STEPS),
        )
        rss = None
        while True:
            row = await conn.fetchrow(
                "SELECT status, result, error_message, started_at, completed_at FROM jobs WHERE id = $1", job_id
            )
            rss = peak_rss_mb(worker.pid) or rss
            if row["status"] in ("succeeded", "failed", "cancelled"):
                break
            await asyncio.sleep(0.2)
        if row["status"] != "succeeded":
            raise RuntimeError(f"import {row['status']}: {row['error_message']}")
        return (row["completed_at"] - row["started_at"]).total_seconds(), row["result"], rss
    finally:
        stop(worker)
        await conn.close()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--batch-size", type=int, default=5000)
    parser.add_argument("--server", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_SERVER))
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="jobrunner-import-bench-") as tmp:
        work = Path(tmp)
        path = work / "customers.csv"
        started = time.perf_counter()
        write_customers(path, args.rows)
        print(
            f"file: {args.rows:,} rows, {path.stat().st_size / 1e6:.1f} MB (written in {time.perf_counter() - started:.1f} s)"
        )
        url = await fresh_database(args.server, "jobrunner_bench_import", orgs=1)
        copy_seconds = await copy_baseline(url, path)
        import_seconds, result, rss = await import_job(url, path, work / "data", args.batch_size)
    assert result["inserted"] == args.rows and result["rejected"] == 0, result
    copy_rate, import_rate = args.rows / copy_seconds, args.rows / import_seconds
    print(f"psql \\copy : {copy_seconds:7.2f} s  {copy_rate:10,.0f} rows/s")
    memory = f"; worker peak RSS {rss:.0f} MB" if rss else ""
    print(
        f"import job : {import_seconds:7.2f} s  {import_rate:10,.0f} rows/s  "
        f"({import_rate / copy_rate:.0%} of COPY; batch {args.batch_size}{memory})"
    )


if __name__ == "__main__":
    asyncio.run(main())
