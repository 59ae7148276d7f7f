"""API and worker through PgBouncer in transaction mode (``JOBRUNNER_DATABASE_POOLER=
transaction``): the engine's representative paths (create, claim, run, succeed; retry;
cancel; the per-organization limit), an export with its status polls and download, and
wake-ups by LISTEN on ``JOBRUNNER_DIRECT_DATABASE_URL`` or else by polling.

Before this change asyncpg's named prepared statements failed through the bouncer
("prepared statement __asyncpg_stmt_N__ does not exist")."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest

import tests.support.processors  # noqa: F401 - registers the test job types
from jobrunner.settings import Settings
from jobrunner.worker.loop import Worker
from tests.integration.api.conftest import EXPORT_BODY, auth
from tests.integration.exports.conftest import seed_export_data
from tests.integration.jobtypes.conftest import start_job, wait_final
from tests.integration.worker.conftest import eventually, fast_settings, wait_status
from tests.integration.worker.test_processes import max_overlap
from tests.support.jobs import insert_job
from tests.support.pgbouncer import pgbouncer, through

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def bouncer_port(server_url: str) -> Iterator[int]:
    # Few server connections for many clients: transactions of one client land on
    # different server connections, as in production.
    with pgbouncer(server_url, pool_size=4) as port:
        yield port


@pytest.fixture
def bounced_url(database_url: str, bouncer_port: int) -> str:
    return through(database_url, bouncer_port)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return fast_settings(
        data_dir=tmp_path / "data", database_pooler="transaction", org_concurrency_limit=2, pool_min_size=1
    )


@pytest.fixture
def api_database_url(bounced_url: str) -> str:
    return bounced_url


@pytest.fixture
async def worker(bounced_url: str, settings: Settings, events: asyncpg.Pool) -> AsyncIterator[Worker]:
    async with Worker(bounced_url, settings, concurrency=10, worker_id="bounced").running() as w:
        yield w


async def test_engine_through_pgbouncer(client: httpx.AsyncClient, worker: Worker, events: asyncpg.Pool) -> None:
    pool = events  # straight to PostgreSQL: the test's own view
    assert worker._listener is None  # pooled and no direct URL: the worker polls

    done = await insert_job(pool, "test_work", {"seconds": 0.1})
    failing = await insert_job(pool, "test_work", {"fail": "transient"}, max_retries=2)
    long = await insert_job(pool, "test_work", {"seconds": 30})
    assert (await wait_status(pool, done, "succeeded"))["result"]["attempt"] == 1
    failed = await wait_status(pool, failing, "failed")
    assert failed["retry_count"] == 2

    await eventually(lambda: pool.fetchval("SELECT status = 'running' FROM jobs WHERE id = $1", long))
    response = await client.post(f"/v1/jobs/{long}/cancel", headers=auth("user_admin"))
    assert response.status_code == 200, response.text
    await eventually(
        lambda: pool.fetchval("SELECT 1 FROM test_events WHERE job_id = $1 AND kind = 'cancel_seen'", long)
    )
    await wait_status(pool, long, "cancelled")

    # The per-organization limit (2 here) holds: the claim's lock lives in its transaction.
    await pool.execute("DELETE FROM test_events")
    batch = [await insert_job(pool, "test_work", {"seconds": 0.4}) for _ in range(8)]
    for job_id in batch:
        await wait_status(pool, job_id, "succeeded", timeout=20)
    assert (await max_overlap(pool))["org_acme"] == 2


async def test_export_status_and_download_through_pgbouncer(
    client: httpx.AsyncClient, worker: Worker, events: asyncpg.Pool
) -> None:
    await seed_export_data(events)
    job_id = await start_job(client, "export_report", EXPORT_BODY["payload"])
    job = await wait_final(client, job_id)
    assert job["status"] == "succeeded", job
    download = await client.get(job["result"]["downloadUrl"])
    assert download.status_code == 200 and download.content.count(b"\n") == job["result"]["recordCount"] + 1
    listing = await client.get("/v1/jobs", headers=auth("user_admin"))
    assert listing.status_code == 200 and listing.json()["jobs"][0]["id"] == job_id


async def test_listen_goes_to_the_direct_url(
    bounced_url: str, database_url: str, settings: Settings, events: asyncpg.Pool
) -> None:
    # Polling only every 30 s: a job done at once was woken by NOTIFY on the direct URL.
    direct = settings.model_copy(update={"direct_database_url": database_url, "poll_interval_seconds": 30.0})
    async with Worker(bounced_url, direct, concurrency=2, worker_id="bounced-listen").running() as worker:
        assert worker._listener is not None
        started = time.monotonic()
        job_id = await insert_job(events, "test_work", {"seconds": 0})
        await wait_status(events, job_id, "succeeded", timeout=10)
        assert time.monotonic() - started < 5
