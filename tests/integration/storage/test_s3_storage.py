"""Files in an S3-compatible object store (moto's server, a real HTTP S3 API on loopback):
multipart writes invisible until committed, ranged reads, abort and abandoned uploads,
exports and uploads through the API and the worker with nothing on local disk, ranged
downloads and presigned redirects behind jobrunner's own link checks, retention."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import tracemalloc
from pathlib import Path

import asyncpg
import httpx
import pytest

from jobrunner.exports.files import purge_expired_exports
from jobrunner.settings import Settings
from jobrunner.storage import FileMissing, abort_abandoned_writes, export_storage, upload_storage
from tests.integration.api.conftest import EXPORT_BODY, auth
from tests.integration.exports.conftest import seed_export_data
from tests.integration.jobtypes.conftest import start_job, wait_final
from tests.support.object_store import ObjectStore

pytestmark = pytest.mark.slow

MiB = 1024 * 1024
PREFIX = "tenant-files"


async def read_all(storage, key: str, start: int = 0, end: int | None = None) -> bytes:
    return b"".join([chunk async for chunk in storage.read(key, start, end)])


async def test_multipart_write_is_invisible_until_commit_and_memory_stays_flat(
    settings: Settings, object_store: ObjectStore, bucket: str
) -> None:
    storage = export_storage(settings)
    block = os.urandom(64 * 1024)
    total = 40 * MiB + 7
    assert not await storage.exists("reports/big.csv")  # the client is made (its models loaded) before measuring
    pending = await storage.begin("reports/big.csv")
    tracemalloc.start()
    try:
        written = 0
        while written < total:
            piece = block[: total - written]
            await pending.write(piece)
            written += len(piece)
            if written == 12 * MiB:
                # Parts are going up, but no reader sees anything yet.
                assert object_store.incomplete_uploads(bucket) == [f"{PREFIX}/exports/reports/big.csv"]
                assert object_store.keys(bucket) == []
                with pytest.raises(FileMissing):
                    await storage.size("reports/big.csv")
        size = await pending.commit()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert size == total
    # About three 5 MiB parts (one filling, one in flight, the client's copy); not 40 MiB.
    assert peak < 20 * MiB, peak
    assert object_store.keys(bucket) == [f"{PREFIX}/exports/reports/big.csv"]
    assert object_store.incomplete_uploads(bucket) == []
    assert await storage.size("reports/big.csv") == total
    expected = (block * (total // len(block) + 1))[:total]
    assert await read_all(storage, "reports/big.csv") == expected
    assert await read_all(storage, "reports/big.csv", 5 * MiB - 3, 5 * MiB + 10) == expected[5 * MiB - 3 : 5 * MiB + 11]
    assert await read_all(storage, "reports/big.csv", total - 5) == expected[-5:]
    assert not list((Path(settings.data_dir) / "scratch").glob("*"))


async def test_abort_and_abandoned_uploads_leave_nothing(
    settings: Settings, object_store: ObjectStore, bucket: str
) -> None:
    storage = export_storage(settings)
    pending = await storage.begin("aborted.csv")
    await pending.write(b"x" * (6 * MiB))
    assert object_store.incomplete_uploads(bucket) == [f"{PREFIX}/exports/aborted.csv"]
    await pending.abort()
    await pending.abort()  # twice is fine
    assert object_store.incomplete_uploads(bucket) == [] and object_store.keys(bucket) == []

    # A writer that dies without aborting (its process was killed) leaves an incomplete
    # upload: maintenance removes it once it is older than the setting. (moto reports one
    # fixed initiation time for every upload, so only "older than 0 s" is tested here.)
    left = await storage.begin("abandoned.csv")
    await left.write(b"y" * (6 * MiB))
    await asyncio.sleep(0.2)  # its first part is in flight; the process "dies" here
    assert object_store.incomplete_uploads(bucket) == [f"{PREFIX}/exports/abandoned.csv"]
    assert await abort_abandoned_writes(settings.model_copy(update={"storage_abandoned_after_seconds": 0})) == 1
    assert object_store.incomplete_uploads(bucket) == [] and object_store.keys(bucket) == []


async def test_small_files_put_file_local_copy_and_delete_many(
    settings: Settings, object_store: ObjectStore, bucket: str, tmp_path: Path
) -> None:
    storage = upload_storage(settings)
    source = tmp_path / "rows.csv"
    source.write_bytes(b"a,b\n1,2\n")
    assert await storage.put_file("rejected/r.csv", source) == 8
    pending = await storage.begin("files/empty.csv")
    assert await pending.commit() == 0
    assert object_store.keys(bucket) == [f"{PREFIX}/uploads/files/empty.csv", f"{PREFIX}/uploads/rejected/r.csv"]
    copy = await storage.local_file("rejected/r.csv", tmp_path / "copy.csv")
    assert copy.read_bytes() == b"a,b\n1,2\n"
    with pytest.raises(FileMissing):
        await storage.local_file("files/none.csv", tmp_path / "none.csv")
    assert await storage.delete_many(["rejected/r.csv", "files/empty.csv", "files/none.csv"]) == 8
    assert object_store.keys(bucket) == []
    assert not await storage.delete("rejected/r.csv")


async def test_export_goes_to_the_object_store_and_downloads_stream_or_redirect(
    client: httpx.AsyncClient, worker, pool: asyncpg.Pool, settings: Settings, object_store: ObjectStore, bucket: str
) -> None:
    await seed_export_data(pool)
    job_id = await start_job(client, "export_report", EXPORT_BODY["payload"])
    job = await wait_final(client, job_id)
    assert job["status"] == "succeeded", job
    key = f"{PREFIX}/exports/{job_id}.csv"
    assert object_store.keys(bucket) == [key]
    assert not (Path(settings.data_dir) / "exports").exists()  # nothing on local disk
    link = job["result"]["downloadUrl"]
    stored = object_store.client().get_object(Bucket=bucket, Key=key)["Body"].read()
    assert stored.startswith(b"Quote Number,") or stored.count(b"\n") > 100

    # Streamed through the API: whole, and one range (a ranged GET on the store).
    whole = await client.get(link)
    assert whole.status_code == 200 and whole.content == stored
    assert whole.headers["content-disposition"].startswith("attachment;")
    ranged = await client.get(link, headers={"Range": "bytes=10-29"})
    assert ranged.status_code == 206 and ranged.content == stored[10:30]
    assert ranged.headers["content-range"] == f"bytes 10-29/{len(stored)}"

    # Redirect mode: the same checks, then 307 to a short-lived presigned URL.
    settings.storage_redirect_seconds = 60
    tampered = await client.get(link.replace("sig=", "sig=0"))
    assert tampered.status_code == 404
    redirect = await client.get(link)
    assert redirect.status_code == 307, redirect.text
    assert redirect.headers["cache-control"] == "private, no-store"
    location = redirect.headers["location"]
    assert location.startswith(object_store.endpoint) and "X-Amz-Expires=60" in location
    fetched = httpx.get(location)
    assert fetched.status_code == 200 and fetched.content == stored
    assert fetched.headers["content-disposition"] == whole.headers["content-disposition"]

    # Retention deletes from the store; the link then answers 410.
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=settings.export_retention_days, minutes=1)
    assert await purge_expired_exports(pool, export_storage(settings), now=later) == 1
    assert object_store.keys(bucket) == []
    assert (await client.get(link)).status_code == 410


async def test_upload_lands_in_the_object_store_and_is_imported(
    client: httpx.AsyncClient, worker, settings: Settings, object_store: ObjectStore, bucket: str
) -> None:
    good = "".join(f"Name {i},n{i}@example.test,CH\n" for i in range(200))
    content = ("name,email,country\n" + good + "Bad,not-an-email,CH\n").encode()
    response = await client.post(
        "/v1/uploads?filename=people.csv", content=content, headers={**auth("user_admin"), "Content-Type": "text/csv"}
    )
    assert response.status_code == 201, response.text
    upload_id = response.json()["uploadId"]
    assert object_store.keys(bucket) == [f"{PREFIX}/uploads/files/{upload_id}.csv"]
    assert not (Path(settings.data_dir) / "uploads" / "files").exists()

    job_id = await start_job(
        client,
        "data_processing",
        {"operation": "import", "dataset": "customers", "uploadId": upload_id, "mode": "insert"},
    )
    job = await wait_final(client, job_id)
    assert job["status"] == "succeeded", job
    assert (job["result"]["inserted"], job["result"]["rejected"]) == (200, 1)
    assert f"{PREFIX}/uploads/rejected/{job_id}.csv" in object_store.keys(bucket)
    rejected = await client.get(job["result"]["rejectedRowsUrl"])
    assert rejected.status_code == 200 and b"not-an-email" in rejected.content
    # The worker's scratch copy of the upload is gone.
    assert list((Path(settings.data_dir) / "uploads" / "work").iterdir()) == []


async def test_xlsx_written_by_path_is_streamed_up_on_commit(
    client: httpx.AsyncClient, worker, pool: asyncpg.Pool, settings: Settings, object_store: ObjectStore, bucket: str
) -> None:
    await seed_export_data(pool)
    payload = {**EXPORT_BODY["payload"], "format": "xlsx"}
    job = await wait_final(client, await start_job(client, "export_report", payload))
    assert job["status"] == "succeeded", job
    key = f"{PREFIX}/exports/{job['id']}.xlsx"
    assert object_store.keys(bucket) == [key]
    body = object_store.client().get_object(Bucket=bucket, Key=key)["Body"].read()
    assert body.startswith(b"PK") and len(body) == job["result"]["fileSize"]
    # The workbook's local scratch file is gone once it is in the store.
    assert list((Path(settings.data_dir) / "scratch").iterdir()) == []
