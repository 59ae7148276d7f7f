"""A worker process SIGKILLed while its export streams to the object store: no half file is
ever visible, the retried attempt publishes the whole file, and the killed attempt's
incomplete multipart upload is gone after maintenance/cleanup (``abort_abandoned_writes``)."""

from __future__ import annotations

import asyncio
import signal
import time
from pathlib import Path

import asyncpg
import httpx
import pytest

from benchmarks.export_million import SEED_CUSTOMERS, SEED_QUOTES
from jobrunner.settings import Settings
from jobrunner.storage import abort_abandoned_writes
from tests.integration.api.conftest import EXPORT_BODY
from tests.integration.jobtypes.conftest import start_job, wait_final
from tests.support.object_store import ObjectStore
from tests.support.workers import spawn_worker, stop_worker

pytestmark = pytest.mark.slow

ROWS = 250_000


def worker_env(settings: Settings, object_store: ObjectStore, **extra: str) -> dict[str, str]:
    return {
        **object_store.env,
        "JOBRUNNER_DATA_DIR": str(settings.data_dir),
        "JOBRUNNER_STORAGE_URL": str(settings.storage_url),
        "JOBRUNNER_STORAGE_PART_BYTES": str(settings.storage_part_bytes),
        **extra,
    }


async def test_worker_killed_mid_upload_leaves_no_half_file_and_no_orphan(
    client: httpx.AsyncClient,
    pool: asyncpg.Pool,
    database_url: str,
    settings: Settings,
    object_store: ObjectStore,
    bucket: str,
    tmp_path: Path,
) -> None:
    await pool.execute(SEED_CUSTOMERS, "org_acme")
    await pool.execute(SEED_QUOTES, "org_acme", ROWS)
    key = None
    # moto reports one fixed, old initiation time for every multipart upload: a huge
    # threshold keeps the workers' own maintenance from aborting the live one.
    env = worker_env(settings, object_store, JOBRUNNER_STORAGE_ABANDONED_AFTER_SECONDS=str(10**9))
    first = spawn_worker(database_url, imports="", env=env, log_path=tmp_path / "first.log")
    try:
        job_id = await start_job(client, "export_report", EXPORT_BODY["payload"])
        key = f"tenant-files/exports/{job_id}.csv"
        deadline = time.monotonic() + 60
        while not object_store.incomplete_uploads(bucket):
            assert object_store.keys(bucket) == [], "a file appeared before its upload completed"
            assert first.poll() is None and time.monotonic() < deadline, (tmp_path / "first.log").read_text()
            await asyncio.sleep(0.02)
        stop_worker(first, signal.SIGKILL)
        killed_at = time.monotonic()
        assert object_store.incomplete_uploads(bucket) == [key]
        assert object_store.keys(bucket) == []  # no half file
    finally:
        stop_worker(first, signal.SIGKILL)

    second = spawn_worker(database_url, imports="", env=env, log_path=tmp_path / "second.log")
    try:
        job = await wait_final(client, job_id, timeout=90)
    finally:
        stop_worker(second)
    print(f"retried export done {time.monotonic() - killed_at:.1f} s after the kill")
    assert job["status"] == "succeeded", job
    assert job["retryCount"] == 1  # the rescued attempt failed transiently, the second one ran
    assert object_store.keys(bucket) == [key]
    body = object_store.client().get_object(Bucket=bucket, Key=key)["Body"].read()
    assert body.count(b"\n") == ROWS + 1 and len(body) == job["result"]["fileSize"]

    # The killed attempt's upload is still there, invisible; cleanup aborts it.
    assert object_store.incomplete_uploads(bucket) == [key]
    assert await abort_abandoned_writes(settings.model_copy(update={"storage_abandoned_after_seconds": 0})) == 1
    assert object_store.incomplete_uploads(bucket) == []
    assert object_store.keys(bucket) == [key]
