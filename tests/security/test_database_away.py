"""The database going away is a state, not a crash (issue 9, item 10).

Each test runs its own throwaway PostgreSQL cluster (tests/support/throwaway_pg.py) and
stops and starts it for real; the shared server of the other tests is never touched.
"""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from jobrunner.app import create_app
from jobrunner.db import migrate
from jobrunner.db.pool import connect
from jobrunner.db.seed import seed_identities
from jobrunner.settings import Settings
from tests.conftest import JWT_SECRET
from tests.integration.api.conftest import EXPORT_BODY, assert_problem, auth
from tests.support.processors import EVENTS_TABLE  # and registers test_work
from tests.support.jobs import insert_job
from tests.support.throwaway_pg import BIN_DIR, ThrowawayPostgres
from tests.support.workers import spawn_worker, stop_worker

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(BIN_DIR is None, reason="needs PostgreSQL binaries (initdb, pg_ctl)"),
]

# Workers and listeners of these tests retry quickly.
QUICK_RECONNECT = {
    "JOBRUNNER_DATABASE_RECONNECT_BASE_SECONDS": "0.1",
    "JOBRUNNER_DATABASE_RECONNECT_CAP_SECONDS": "0.5",
}


@pytest.fixture
def cluster() -> Iterator[ThrowawayPostgres]:
    """A migrated cluster with the demo identities, running."""
    pg = ThrowawayPostgres()
    try:
        pg.init()
        pg.start()
        migrate.upgrade(pg.url)

        async def seed() -> None:
            conn = await asyncpg.connect(pg.url)
            try:
                await seed_identities(conn)
                await conn.execute(EVENTS_TABLE)
            finally:
                await conn.close()

        asyncio.run(seed())
        yield pg
    finally:
        pg.destroy()


async def eventually(check, timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = await check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s (last: {value!r})")
        await asyncio.sleep(0.1)


@pytest.fixture
async def api(cluster: ThrowawayPostgres) -> AsyncIterator[httpx.AsyncClient]:
    """The API on the throwaway cluster; the test stops and starts the cluster under it."""
    settings = Settings(
        pool_min_size=2, pool_max_size=4, unavailable_retry_after_seconds=7, database_connect_timeout_seconds=2
    )
    app = create_app(settings, cluster.url, JWT_SECRET)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)  # raises what the app does not answer
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield client


async def answers_everywhere_503(client: httpx.AsyncClient, job_id: str) -> None:
    requests = [
        ("GET", "/healthz", None),
        ("GET", "/v1/jobs", None),
        ("GET", f"/v1/jobs/{job_id}/status", None),
        ("POST", "/v1/jobs", EXPORT_BODY),
        ("POST", f"/v1/jobs/{job_id}/cancel", None),
        ("GET", "/v1/me", None),
        ("GET", "/v1/me/activity", None),
        ("GET", "/v1/integrations/notifications", None),
    ]
    for method, path, body in requests:
        response = await client.request(method, path, json=body, headers=auth("user_admin"))
        problem = assert_problem(response, 503)
        assert response.headers["retry-after"] == "7", (method, path)
        text = response.text.lower()
        for driver_word in ("asyncpg", "connection", "errno", "refused", "traceback", "postgres"):
            assert driver_word not in text, (method, path, problem)


async def test_api_answers_503_while_the_database_is_away_and_recovers_without_restart(
    cluster: ThrowawayPostgres, api: httpx.AsyncClient
) -> None:
    created = await api.post("/v1/jobs", json=EXPORT_BODY, headers=auth("user_admin"))
    assert created.status_code == 202, created.text
    job_id = created.json()["jobId"]

    for _ in range(2):  # a restart, twice: the pool's connections die each time
        cluster.stop()
        await answers_everywhere_503(api, job_id)
        cluster.start()

        async def healthy() -> bool:
            return (await api.get("/healthz")).status_code == 200

        await eventually(healthy)
        status = await api.get(f"/v1/jobs/{job_id}/status", headers=auth("user_admin"))
        assert status.status_code == 200, status.text
        listed = await api.get("/v1/jobs", headers=auth("user_admin"))
        assert listed.status_code == 200 and listed.json()["total"] >= 1


async def test_api_started_while_the_database_is_down_serves_503_then_200(cluster: ThrowawayPostgres) -> None:
    cluster.stop()
    settings = Settings(pool_min_size=2, pool_max_size=4, database_connect_timeout_seconds=2)
    app = create_app(settings, cluster.url, JWT_SECRET)
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
            response = await client.get("/healthz")
            assert_problem(response, 503)
            assert response.headers["retry-after"] == "5"  # the default
            assert_problem(await client.get("/v1/jobs", headers=auth("user_admin")), 503)
            cluster.start()
            assert (await client.get("/healthz")).status_code == 200
            assert (await client.get("/v1/jobs", headers=auth("user_admin"))).status_code == 200


async def job_status(url: str, job_id: object) -> str | None:
    try:
        conn = await asyncpg.connect(url, timeout=2)
    except (OSError, asyncpg.PostgresError):
        return None
    try:
        return await conn.fetchval("SELECT status FROM jobs WHERE id = $1", job_id)
    finally:
        await conn.close()


async def add_job(url: str, payload: dict[str, Any] | None = None, max_retries: int = 3) -> object:
    conn = await connect(url)  # with the JSON codecs
    try:
        return await insert_job(
            conn, "test_work", payload or {"seconds": 0.05, "record": False}, max_retries=max_retries
        )
    finally:
        await conn.close()


async def succeeded(url: str, job_id: object) -> bool:
    return await job_status(url, job_id) == "succeeded"


async def test_worker_started_before_the_database_waits_for_it_then_runs_jobs(
    cluster: ThrowawayPostgres, tmp_path: Path
) -> None:
    cluster.stop()
    log = tmp_path / "worker.log"
    process = spawn_worker(cluster.url, concurrency=2, env=QUICK_RECONNECT, log_path=log)
    try:
        await asyncio.sleep(3)
        assert process.poll() is None, f"the worker exited ({process.returncode}):\n{log.read_text()}"
        cluster.start()
        job_id = await add_job(cluster.url)
        await eventually(lambda: succeeded(cluster.url, job_id))
    finally:
        code = stop_worker(process, signal.SIGTERM)
    assert code == 0, log.read_text()
    assert "database unavailable" in log.read_text()


async def test_worker_survives_a_database_restart_and_runs_jobs_afterwards(
    cluster: ThrowawayPostgres, tmp_path: Path
) -> None:
    log = tmp_path / "worker.log"
    process = spawn_worker(cluster.url, concurrency=2, env=QUICK_RECONNECT, log_path=log)
    try:
        first = await add_job(cluster.url)
        await eventually(lambda: succeeded(cluster.url, first))
        cluster.stop()
        await asyncio.sleep(2)  # every loop of the worker meets the database away
        assert process.poll() is None, f"the worker exited ({process.returncode}):\n{log.read_text()}"
        cluster.start()
        after = [await add_job(cluster.url) for _ in range(3)]
        for job_id in after:
            await eventually(lambda job_id=job_id: succeeded(cluster.url, job_id))
        # Still alive, and heartbeating again.
        conn = await asyncpg.connect(cluster.url)
        try:
            await eventually(lambda: conn.fetchval("SELECT count(*) = 1 FROM workers WHERE pid = $1", process.pid))
        finally:
            await conn.close()
    finally:
        code = stop_worker(process, signal.SIGTERM)
    assert code == 0, log.read_text()


async def test_a_job_that_meets_the_database_away_fails_in_our_words(
    cluster: ThrowawayPostgres, tmp_path: Path
) -> None:
    """The processor's own statement fails while the server is down: the job's
    errorMessage says so in our words, never the driver's text (item 8's rule)."""
    log = tmp_path / "worker.log"
    # A long lease: the job must end by its processor's error, not be handed back as lost.
    env = {**QUICK_RECONNECT, "JOBRUNNER_LEASE_SECONDS": "60"}
    process = spawn_worker(cluster.url, concurrency=2, env=env, log_path=log)
    try:
        job_id = await add_job(cluster.url, {"seconds": 1.5, "record": True}, max_retries=0)

        async def started() -> bool:
            conn = await asyncpg.connect(cluster.url)
            try:
                return bool(await conn.fetchval("SELECT count(*) FROM test_events WHERE job_id = $1", job_id))
            finally:
                await conn.close()

        await eventually(started)
        cluster.stop()  # the processor's last INSERT meets the database away
        await asyncio.sleep(2.5)
        cluster.start()

        async def failed() -> str | None:
            conn = await asyncpg.connect(cluster.url)
            try:
                row = await conn.fetchrow("SELECT status, error_message FROM jobs WHERE id = $1", job_id)
            finally:
                await conn.close()
            return row["error_message"] if row["status"] == "failed" else None

        message = await eventually(failed)
        assert message == "The database was unavailable during the attempt"
    finally:
        code = stop_worker(process, signal.SIGTERM)
    assert code == 0, log.read_text()
