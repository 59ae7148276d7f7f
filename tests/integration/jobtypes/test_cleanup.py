"""cleanup: deletes exactly the organization's old finished jobs, old uploads and expired
export files (with their files on disk), and nothing queued, running or retrying, nothing
recent, nothing of another organization."""

from __future__ import annotations

import uuid
from pathlib import Path

import asyncpg

from jobrunner.settings import Settings
from jobrunner.uploads.store import rejected_rows_key, upload_key
from tests.integration.jobtypes.conftest import auth, start_job, wait_final
from tests.support.jobs import execute_unchecked, insert_job


FINAL = {
    "succeeded": "status = 'succeeded', completed_at = now() - make_interval(days => $2)",
    "failed": "status = 'failed', completed_at = now() - make_interval(days => $2)",
    "cancelled": "status = 'cancelled', completed_at = now() - make_interval(days => $2), cancelled_at = now()",
    "queued": "created_at = now() - make_interval(days => $2)",
    "retrying": "status = 'retrying', retry_count = 1, created_at = now() - make_interval(days => $2)",
    "running": "status = 'running', locked_by = 'elsewhere', created_at = now() - make_interval(days => $2)",
    "cancelled_held": "status = 'cancelled', completed_at = now() - make_interval(days => $2), cancelled_at = now(), locked_by = 'elsewhere'",
}


async def make_job(
    db: asyncpg.Connection,
    state: str,
    days: int,
    *,
    org: str = "org_acme",
    user: str = "user_member",
    job_type: str = "export_report",
    payload: dict | None = None,
) -> uuid.UUID:
    payload = payload or {"reportType": "quotes", "format": "csv"}
    # Not due for a day (delay), so the test's worker never claims it.
    job_id = await insert_job(db, job_type, payload, org=org, user=user, delay=86400)
    await execute_unchecked(db, f"UPDATE jobs SET {FINAL[state]} WHERE id = $1", job_id, days)
    return job_id


def write(path: Path, size: int) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x" * size)
    return path


async def make_upload(
    db: asyncpg.Connection, store: Path, days: int, size: int, org: str = "org_acme"
) -> tuple[uuid.UUID, Path]:
    upload_id = uuid.uuid4()
    key = upload_key(upload_id)
    await db.execute(
        "INSERT INTO uploads (id, organization_id, user_id, filename, storage_key, size_bytes, created_at)"
        " VALUES ($1, $2, $3, 'f.csv', $4, $5, now() - make_interval(days => $6))",
        upload_id,
        org,
        "user_admin" if org == "org_acme" else "user_globex",
        key,
        size,
        days,
    )
    return upload_id, write(store / key, size)


async def make_export_file(
    db: asyncpg.Connection, root: Path, job_id: uuid.UUID, *, days: int, expired: bool, size: int, org: str = "org_acme"
) -> Path:
    key = f"{job_id}.csv"
    await db.execute(
        "INSERT INTO export_files (job_id, organization_id, user_id, report_type, format, storage_key,"
        " download_name, content_type, size_bytes, record_count, created_at, expires_at)"
        " VALUES ($1, $2, 'user_member', 'quotes', 'csv', $3, 'quotes.csv', 'text/csv', $4, 0,"
        " now() - make_interval(days => $5),"
        " CASE WHEN $6 THEN now() - interval '1 hour' ELSE now() + interval '1 day' END)",
        job_id,
        org,
        key,
        size,
        days,
        expired,
    )
    return write(root / key, size)


async def test_cleanup_deletes_exactly_what_it_should(
    client, worker, db: asyncpg.Connection, settings: Settings
) -> None:
    # The worker holding the 'running' job: alive (its heartbeat is in the future), never rescued.
    await db.execute(
        "INSERT INTO workers (id, hostname, pid, concurrency, heartbeat_at)"
        " VALUES ('elsewhere', 'h', 1, 1, now() + interval '1 hour')"
    )
    store = Path(settings.data_dir) / "uploads"
    exports_root = Path(settings.data_dir) / "exports"

    doomed_jobs = [await make_job(db, state, 40) for state in ("succeeded", "failed", "cancelled")]
    old_import = await make_job(
        db,
        "succeeded",
        40,
        job_type="data_processing",
        payload={"operation": "import", "dataset": "customers", "uploadId": str(uuid.uuid4())},
    )
    doomed_jobs.append(old_import)
    rejected = write(store / rejected_rows_key(old_import), 300)
    old_export_with_file = doomed_jobs[0]
    file_of_old_job = await make_export_file(db, exports_root, old_export_with_file, days=40, expired=True, size=700)

    kept_jobs = [await make_job(db, state, 40) for state in ("queued", "retrying", "running", "cancelled_held")]
    kept_jobs += [await make_job(db, "succeeded", 5), await make_job(db, "failed", 29)]
    kept_jobs.append(await make_job(db, "succeeded", 40, org="org_globex", user="user_globex"))

    # Export files of jobs that stay: an expired one (deleted), an old one (deleted), a fresh one (kept).
    recent_a, recent_b, recent_c = [await make_job(db, "succeeded", 1) for _ in range(3)]
    kept_jobs += [recent_a, recent_b, recent_c]
    expired_file = await make_export_file(db, exports_root, recent_a, days=1, expired=True, size=1000)
    old_file = await make_export_file(db, exports_root, recent_b, days=45, expired=False, size=2000)
    fresh_file = await make_export_file(db, exports_root, recent_c, days=1, expired=False, size=4000)

    old_upload, old_upload_file = await make_upload(db, store, 40, 10_000)
    recent_upload, recent_upload_file = await make_upload(db, store, 3, 20_000)
    in_use_upload, in_use_file = await make_upload(db, store, 40, 30_000)
    kept_jobs.append(
        await make_job(
            db,
            "queued",
            1,
            job_type="data_processing",
            payload={"operation": "import", "dataset": "customers", "uploadId": str(in_use_upload)},
        )
    )
    globex_upload, globex_file = await make_upload(db, store, 40, 40_000, org="org_globex")

    response = await client.post(
        "/v1/jobs",
        json={"jobType": "cleanup", "payload": {"target": "all", "olderThanDays": 30}},
        headers=auth("user_member"),
    )
    assert response.status_code == 403

    job_id = await start_job(client, "cleanup", {"target": "all", "olderThanDays": 30})
    job = await wait_final(client, job_id)
    assert job["status"] == "succeeded", job
    result = job["result"]
    assert result["jobsDeleted"] == 4
    assert result["uploadsDeleted"] == 1
    # Expired or old: the old job's (exports go first), the recent job's expired one, the old one.
    assert result["exportFilesDeleted"] == 3
    assert result["bytesFreed"] == 300 + 700 + 1000 + 2000 + 10_000

    remaining = {row["id"] for row in await db.fetch("SELECT id FROM jobs")}
    assert remaining.isdisjoint(doomed_jobs)
    assert set(kept_jobs) | {uuid.UUID(job_id)} == remaining
    assert not rejected.exists() and not file_of_old_job.exists()
    assert not expired_file.exists() and not old_file.exists() and fresh_file.exists()
    deleted_marks = {
        row["job_id"] for row in await db.fetch("SELECT job_id FROM export_files WHERE deleted_at IS NOT NULL")
    }
    assert deleted_marks == {old_export_with_file, recent_a, recent_b}  # the ledger keeps its rows
    uploads = {row["id"] for row in await db.fetch("SELECT id FROM uploads")}
    assert uploads == {recent_upload, in_use_upload, globex_upload}
    assert not old_upload_file.exists()
    assert recent_upload_file.exists() and in_use_file.exists() and globex_file.exists()


async def test_cleanup_of_one_target_only(client, worker, db: asyncpg.Connection, settings: Settings) -> None:
    store = Path(settings.data_dir) / "uploads"
    old_job = await make_job(db, "succeeded", 10)
    _, upload_file = await make_upload(db, store, 10, 123)
    job = await wait_final(client, await start_job(client, "cleanup", {"target": "uploads", "olderThanDays": 7}))
    assert job["status"] == "succeeded" and job["progress"] == 100 and job["currentStep"] == 4
    assert job["result"]["uploadsDeleted"] == 1 and job["result"]["jobsDeleted"] == 0
    assert job["result"]["bytesFreed"] == 123 and not upload_file.exists()
    assert await db.fetchval("SELECT count(*) FROM jobs WHERE id = $1", old_job) == 1


async def test_cleanup_payload_validation(client) -> None:
    for payload in (
        {"target": "all", "olderThanDays": 0},
        {"target": "all", "olderThanDays": "7"},
        {"target": "everything", "olderThanDays": 7},
        {"target": "all"},
        {"target": "all", "olderThanDays": 7, "dryRun": True},
    ):
        response = await client.post(
            "/v1/jobs", json={"jobType": "cleanup", "payload": payload}, headers=auth("user_admin")
        )
        assert response.status_code == 422, (payload, response.text)


async def test_deleting_jobs_removes_their_files(client, worker, db: asyncpg.Connection, settings: Settings) -> None:
    store = Path(settings.data_dir) / "uploads"
    export_job = await make_job(db, "succeeded", 10)
    export_file = await make_export_file(
        db, Path(settings.data_dir) / "exports", export_job, days=1, expired=False, size=50
    )
    import_job = await make_job(
        db,
        "failed",
        10,
        job_type="data_processing",
        payload={"operation": "import", "dataset": "quotes", "uploadId": str(uuid.uuid4())},
    )
    rejected = write(store / rejected_rows_key(import_job), 70)
    job = await wait_final(client, await start_job(client, "cleanup", {"target": "jobs", "olderThanDays": 7}))
    assert job["result"]["jobsDeleted"] == 2 and job["result"]["exportFilesDeleted"] == 0
    assert job["result"]["bytesFreed"] == 120
    assert not export_file.exists() and not rejected.exists()
    assert await db.fetchval("SELECT deleted_at IS NOT NULL FROM export_files WHERE job_id = $1", export_job)
