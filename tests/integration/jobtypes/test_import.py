"""data_processing: uploads, a 100,000-row import with 1% bad rows during which a worker
process is SIGKILLed (the retried job finishes without duplicates, counts exact, rejected
file correct), quotes with references and money, permanent failures."""

from __future__ import annotations

import asyncio
import csv
import io
import signal
import time
import uuid
from pathlib import Path

import asyncpg
import httpx

from jobrunner.imports.samples import write_customers
from jobrunner.settings import Settings
from jobrunner.worker.loop import Worker
from tests.integration.jobtypes.conftest import auth, start_job, wait_final
from tests.support.workers import spawn_worker, stop_worker

REASONS = {
    "bad_email": "email is not a valid email address",
    "no_name": "name is required",
    "bad_country": "country must be a two-letter ISO 3166 code",
    "short_row": "expected 3 fields, found 2",
    "duplicate": "a customer with this email already exists",
}


async def upload(
    client: httpx.AsyncClient, content: bytes, user: str = "user_admin", filename: str = "data.csv"
) -> str:
    response = await client.post(
        f"/v1/uploads?filename={filename}", content=content, headers={**auth(user), "Content-Type": "text/csv"}
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["sizeBytes"] == len(content)
    return body["uploadId"]


async def rejected_rows(client: httpx.AsyncClient, job: dict) -> list[list[str]]:
    url = job["result"]["rejectedRowsUrl"]
    assert "sig=" in url
    response = await client.get(url)  # a plain link: no token
    assert response.status_code == 200, response.text
    return list(csv.reader(io.StringIO(response.text)))


async def test_import_survives_a_killed_worker(
    client, database_url: str, settings: Settings, db: asyncpg.Connection, tmp_path: Path
) -> None:
    source = tmp_path / "customers.csv"
    bad = write_customers(source, 100_000, bad_every=100)
    upload_id = await upload(client, source.read_bytes(), filename="customers.csv")
    job_id = await start_job(
        client,
        "data_processing",
        {"operation": "import", "dataset": "customers", "uploadId": upload_id, "mode": "insert"},
    )

    process = spawn_worker(
        database_url, env={"JOBRUNNER_DATA_DIR": str(settings.data_dir), "JOBRUNNER_IMPORT_BATCH_SIZE": "1000"}
    )
    try:
        deadline = time.monotonic() + 60
        while await db.fetchval("SELECT count(*) FROM import_batches WHERE job_id = $1", uuid.UUID(job_id)) < 10:
            assert time.monotonic() < deadline and process.poll() is None, "the import never started writing"
            await asyncio.sleep(0.01)
    finally:
        stop_worker(process, signal.SIGKILL)
    written_before = await db.fetchval("SELECT count(*) FROM import_batches WHERE job_id = $1", uuid.UUID(job_id))
    assert written_before < 100, "the worker finished before it was killed"

    async with Worker(
        database_url, settings.model_copy(update={"import_batch_size": 1000}), concurrency=2, worker_id="survivor"
    ).running():
        job = await wait_final(client, job_id, timeout=60)
    assert job["status"] == "succeeded", job
    assert job["retryCount"] == 1  # the rescue of the killed attempt
    result = job["result"]
    assert result["recordCount"] == 100_000
    assert result["inserted"] == 99_000 and result["updated"] == 0 and result["rejected"] == 1_000
    assert result["batchesResumed"] >= written_before
    assert await db.fetchval("SELECT count(*) FROM customers WHERE organization_id = 'org_acme'") == 99_000
    assert await db.fetchval("SELECT count(DISTINCT email) FROM customers") == 99_000
    assert await db.fetchval("SELECT count(*) FROM customers WHERE name = 'Customer 5 \"Ltd\", <b>'") == 1

    rows = await rejected_rows(client, job)
    assert rows[0] == ["line", "reason", "name", "email", "country"]
    listed = {int(row[0]): row for row in rows[1:]}
    assert len(rows) - 1 == len(listed) == 1_000
    assert set(listed) == set(bad)
    for line, kind in bad.items():
        assert listed[line][1].startswith(REASONS[kind]), (line, kind, listed[line])
    assert listed[101] == ["101", REASONS["bad_email"], 'Customer 99 "Ltd", <b>', "customer99.example.com", "GB"]
    # Work files are gone; only the published rejected-rows file remains.
    assert list((Path(settings.data_dir) / "uploads" / "work").iterdir()) == []


QUOTES = """quote_number,customer_email,status,currency,subtotal,tax,total,valid_until
Q-1,alice@example.com,draft,EUR,100.00,19.00,119.00,2025-01-31
Q-2,nobody@example.com,draft,EUR,1.00,0.00,1.00,2025-01-31
Q-3,ALICE@example.com,sent,usd,10.5,0,10.5,2025-02-28
Q-4,alice@example.com,sent,EUR,10.00,1.00,12.00,2025-02-28
Q-5,alice@example.com,sent,EUR,1e3,0,1e3,2025-02-28
Q-6,alice@example.com,sent,EUR,10.001,0,10.001,2025-02-28
Q-7,alice@example.com,won,EUR,1,0,1,2025-02-28
Q-8,alice@example.com,sent,EUR,1,0,1,2025-02-30
Q-1,alice@example.com,accepted,EUR,200.00,38.00,238.00,2025-03-31
Q-9,bob@globex.example,sent,EUR,1,0,1,2025-02-28
"""


async def test_quotes_import_checks_money_and_references(client, worker, db: asyncpg.Connection) -> None:
    await db.execute(
        "INSERT INTO customers (organization_id, name, email, country) VALUES"
        " ('org_acme', 'Alice', 'alice@example.com', 'DE'),"
        " ('org_globex', 'Bob', 'bob@globex.example', 'US')"
    )
    upload_id = await upload(client, QUOTES.encode(), user="user_member")
    payload = {"operation": "import", "dataset": "quotes", "uploadId": upload_id, "mode": "upsert"}
    job = await wait_final(
        client, await start_job(client, "data_processing", payload, user="user_member"), user="user_member"
    )
    assert job["status"] == "succeeded", job
    result = job["result"]
    assert (result["recordCount"], result["inserted"], result["updated"], result["rejected"]) == (10, 2, 1, 7)
    quotes = {r["quote_number"]: r for r in await db.fetch("SELECT * FROM quotes")}
    assert set(quotes) == {"Q-1", "Q-3"}
    assert str(quotes["Q-1"]["total"]) == "238.00" and quotes["Q-1"]["status"] == "accepted"  # the last Q-1 won
    assert quotes["Q-3"]["currency"] == "USD" and str(quotes["Q-3"]["subtotal"]) == "10.50"
    response = await client.get(job["result"]["rejectedRowsUrl"])
    reasons = {row[2]: row[1] for row in csv.reader(io.StringIO(response.text)) if row[0] != "line"}
    assert reasons == {
        "Q-2": "customer_email names no customer of the organization",
        "Q-4": "total must equal subtotal + tax",
        "Q-5": "subtotal must be a decimal amount with at most 2 decimals (e.g. 1250.00)",
        "Q-6": "subtotal must be a decimal amount with at most 2 decimals (e.g. 1250.00)",
        "Q-7": "status must be one of accepted, draft, expired, rejected, sent",
        "Q-8": "valid_until is not a valid date",
        "Q-9": "customer_email names no customer of the organization",  # another organization's
    }
    # Only the owner: no signature, another user's token, a tampered signature.
    link = job["result"]["rejectedRowsUrl"]
    assert (await client.get(link.split("?")[0])).status_code == 404
    assert (await client.get(link.split("?")[0], headers=auth("user_admin"))).status_code == 404
    assert (await client.get(link.split("?")[0], headers=auth("user_member"))).status_code == 200
    assert (await client.get(link[:-2] + "xx")).status_code == 404


async def test_import_permanent_failures(client, worker) -> None:
    others = await upload(client, b"name,email,country\nA,a@example.com,DE\n", user="user_admin")
    wrong_header = await upload(client, b"name,mail,country,extra\nA,a@example.com,DE,1\n", user="user_member")
    cases = [
        (others, "not found"),  # another user's upload
        (str(uuid.uuid4()), "not found"),
        (wrong_header, "missing columns: email; unknown columns: mail, extra"),
    ]
    for upload_id, message in cases:
        job = await wait_final(
            client,
            await start_job(
                client,
                "data_processing",
                {"operation": "import", "dataset": "customers", "uploadId": upload_id},
                user="user_member",
            ),
            user="user_member",
        )
        assert job["status"] == "failed" and job["retryCount"] == 0, job
        assert job["errorMessage"].startswith("Invalid import payload") and message in job["errorMessage"], job


async def test_upload_endpoint_refusals(client) -> None:
    csv_headers = {**auth("user_admin"), "Content-Type": "text/csv"}
    response = await client.post(
        "/v1/uploads", content=b"a,b\n", headers={**auth("user_admin"), "Content-Type": "application/json"}
    )
    assert response.status_code == 415
    response = await client.post(
        "/v1/uploads", content=b"a,b\n", headers={**auth("user_viewer"), "Content-Type": "text/csv"}
    )
    assert response.status_code == 403
    response = await client.post("/v1/uploads", content=b"a,b\n", headers={"Content-Type": "text/csv"})
    assert response.status_code == 401
    for content in (b"", b"\x00\x01\x02binary", b"\xff\xfe\xfa,header\n"):
        response = await client.post("/v1/uploads", content=content, headers=csv_headers)
        assert response.status_code == 422, (content, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
    for payload in (
        {"operation": "export", "dataset": "customers", "uploadId": str(uuid.uuid4())},
        {"operation": "import", "dataset": "orders", "uploadId": str(uuid.uuid4())},
        {"operation": "import", "dataset": "customers", "uploadId": "nope"},
        {"operation": "import", "dataset": "customers", "uploadId": str(uuid.uuid4()), "mode": "merge"},
    ):
        response = await client.post(
            "/v1/jobs", json={"jobType": "data_processing", "payload": payload}, headers=auth("user_admin")
        )
        assert response.status_code == 422, payload


async def test_upload_size_limit(client, settings: Settings) -> None:
    headers = {**auth("user_admin"), "Content-Type": "text/csv"}
    response = await client.post("/v1/uploads", content=b"name,email,country\n" + b"x" * 300_000, headers=headers)
    assert response.status_code == 201  # above the JSON body limit, below the upload limit
    too_big = b"name,email,country\n" + b"x" * settings.upload_max_bytes
    response = await client.post("/v1/uploads", content=too_big, headers=headers)
    assert response.status_code == 413  # said by Content-Length

    async def chunks():
        for _ in range(settings.upload_max_bytes // 65536 + 2):
            yield b"y" * 65536

    response = await client.post("/v1/uploads", content=chunks(), headers=headers)
    assert response.status_code == 413  # found while streaming
    files = Path(settings.data_dir) / "uploads" / "files"
    assert len(list(files.iterdir())) == 1  # only the accepted one; no partial file left


async def test_cancelled_import_stops_and_removes_its_work_files(
    client, database_url: str, settings: Settings, db: asyncpg.Connection, tmp_path: Path
) -> None:
    source = tmp_path / "customers.csv"
    write_customers(source, 40_000, bad_every=50)
    upload_id = await upload(client, source.read_bytes())
    job_id = await start_job(
        client, "data_processing", {"operation": "import", "dataset": "customers", "uploadId": upload_id}
    )
    async with Worker(
        database_url, settings.model_copy(update={"import_batch_size": 250}), concurrency=2, worker_id="canceller"
    ).running():
        deadline = time.monotonic() + 30
        while await db.fetchval("SELECT count(*) FROM import_batches WHERE job_id = $1", uuid.UUID(job_id)) < 3:
            assert time.monotonic() < deadline
            await asyncio.sleep(0.01)
        response = await client.post(f"/v1/jobs/{job_id}/cancel", headers=auth("user_admin"))
        assert response.status_code == 200
        while await db.fetchval("SELECT locked_by FROM jobs WHERE id = $1", uuid.UUID(job_id)) is not None:
            assert time.monotonic() < deadline
            await asyncio.sleep(0.02)
    job = await wait_final(client, job_id)
    assert job["status"] == "cancelled" and job["result"] is None
    batches = await db.fetchval("SELECT count(*) FROM import_batches WHERE job_id = $1", uuid.UUID(job_id))
    assert batches < 160  # stopped well before the end
    written = await db.fetchval("SELECT sum(inserted) FROM import_batches WHERE job_id = $1", uuid.UUID(job_id))
    assert await db.fetchval("SELECT count(*) FROM customers") == written  # whole batches only
    uploads = Path(settings.data_dir) / "uploads"
    assert list((uploads / "work").iterdir()) == []
    assert not (uploads / "rejected").exists()
