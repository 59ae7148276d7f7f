"""Four real worker processes, each running the scheduler every 0.1 s, and a schedule that
fires every second: each fire time makes exactly one job, none is lost."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from pathlib import Path

import asyncpg
import httpx
import pytest

import tests.support.processors  # noqa: F401  (declares test_noop for the API's validation)
from jobrunner.settings import Settings
from tests.integration.schedules.conftest import auth
from tests.integration.worker.conftest import eventually
from tests.support.workers import spawn_worker, stop_worker

pytestmark = pytest.mark.slow

WORKERS = 4
FIRING_SECONDS = 6


@pytest.fixture
def settings() -> Settings:
    return Settings(max_body_bytes=16 * 1024, pool_min_size=1, pool_max_size=8, schedule_allow_seconds=True)


async def test_four_worker_processes_make_exactly_one_job_per_firing(
    client: httpx.AsyncClient, db: asyncpg.Connection, database_url: str, tmp_path: Path
) -> None:
    body = {"cron": "* * * * * *", "jobType": "test_noop", "payload": {"record": False}, "paused": True}
    created = await client.post("/v1/schedules", json=body, headers=auth("user_admin"))
    assert created.status_code == 201, created.text
    path = f"/v1/schedules/{created.json()['id']}"
    env = {"JOBRUNNER_SCHEDULER_INTERVAL_SECONDS": "0.1"}
    logs = [tmp_path / f"worker{i}.log" for i in range(WORKERS)]
    processes = [spawn_worker(database_url, concurrency=2, env=env, log_path=log) for log in logs]
    try:
        await eventually(lambda: db.fetchval("SELECT count(*) = $1 FROM workers", WORKERS), timeout=30)
        resumed = await client.patch(path, json={"paused": False}, headers=auth("user_admin"))
        assert resumed.status_code == 200
        await asyncio.sleep(FIRING_SECONDS)
        await client.patch(path, json={"paused": True}, headers=auth("user_admin"))
        # A round that held the lock when we paused finishes first (the PATCH waits for it).
    finally:
        for process in processes:
            stop_worker(process)

    jobs = await db.fetch(
        "SELECT id, scheduled_for FROM jobs WHERE schedule_id = $1 ORDER BY scheduled_for",
        uuid.UUID(created.json()["id"]),
    )
    fire_times = [job["scheduled_for"] for job in jobs]
    assert len(fire_times) >= FIRING_SECONDS - 2
    # One job per fire time, and every second from the first to the last has its job.
    assert len(set(fire_times)) == len(fire_times)
    expected = [fire_times[0] + dt.timedelta(seconds=i) for i in range(len(fire_times))]
    assert fire_times == expected
    audited = await db.fetchval(
        "SELECT count(*) FROM audit_logs WHERE action = 'job.created' AND details->>'scheduleId' = $1",
        created.json()["id"],
    )
    assert audited == len(jobs)
    for log in logs:
        assert "scheduler round failed" not in log.read_text()
