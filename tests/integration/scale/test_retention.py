"""Global retention: every worker process's maintenance deletes finished jobs older than
JOBRUNNER_JOB_RETENTION_DAYS, of every organization, with their files, and nothing else."""

from __future__ import annotations

from pathlib import Path

import asyncpg

from jobrunner.maintenance import periodic_maintenance
from jobrunner.retention.jobs import prune_finished_jobs
from jobrunner.settings import Settings
from jobrunner.uploads.store import rejected_rows_key
from tests.integration.jobtypes.test_cleanup import make_export_file, make_job, write
from tests.integration.worker.conftest import eventually


async def test_prune_deletes_old_finished_jobs_of_every_organization(pool: asyncpg.Pool, tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, job_retention_days=30)
    await pool.execute(
        "INSERT INTO workers (id, hostname, pid, concurrency, heartbeat_at) VALUES ('elsewhere', 'h', 1, 1, now())"
    )
    doomed = [await make_job(pool, state, 31) for state in ("succeeded", "failed", "cancelled")]
    doomed.append(await make_job(pool, "succeeded", 40, org="org_globex", user="user_globex"))
    old_import = await make_job(
        pool, "failed", 45, job_type="data_processing", payload={"operation": "import", "dataset": "customers"}
    )
    doomed.append(old_import)
    await pool.execute(
        "INSERT INTO import_batches (job_id, batch_no, inserted, updated) VALUES ($1, 0, 1, 0)", old_import
    )
    rejected = write(tmp_path / "uploads" / rejected_rows_key(old_import), 100)  # the local upload storage
    export_file = await make_export_file(pool, tmp_path / "exports", doomed[0], days=31, expired=True, size=500)
    await pool.execute(
        "INSERT INTO audit_logs (organization_id, actor, action, job_id) VALUES ('org_acme', 'system', 'x', $1)",
        doomed[0],
    )
    kept = [await make_job(pool, state, 40) for state in ("queued", "retrying", "running", "cancelled_held")]
    kept += [await make_job(pool, "succeeded", 29), await make_job(pool, "failed", 1)]

    assert await prune_finished_jobs(pool, settings, batch_size=2) == len(doomed)

    remaining = {r["id"] for r in await pool.fetch("SELECT id FROM jobs")}
    assert remaining == set(kept)
    assert not export_file.exists() and not rejected.exists()
    assert await pool.fetchval("SELECT deleted_at IS NOT NULL FROM export_files WHERE job_id = $1", doomed[0])
    assert await pool.fetchval("SELECT count(*) FROM import_batches") == 0
    assert await pool.fetchval("SELECT count(*) FROM audit_logs WHERE job_id = $1", doomed[0]) == 1
    assert await prune_finished_jobs(pool, settings) == 0
    assert await prune_finished_jobs(pool, Settings(data_dir=tmp_path, job_retention_days=0)) == 0


async def test_maintenance_prunes(database_url: str, pool: asyncpg.Pool, tmp_path: Path) -> None:
    old = await make_job(pool, "succeeded", 8)
    recent = await make_job(pool, "succeeded", 6)
    settings = Settings(data_dir=tmp_path, job_retention_days=7)
    async with periodic_maintenance(database_url, settings):
        await eventually(lambda: pool.fetchval("SELECT count(*) = 0 FROM jobs WHERE id = $1", old))
    assert await pool.fetchval("SELECT count(*) FROM jobs WHERE id = $1", recent) == 1
