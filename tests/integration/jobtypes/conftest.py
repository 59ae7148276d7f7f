"""The four job types end to end: the HTTP API (httpx against the app) and a real worker
(the engine, in process) against a fresh database, with fast retry settings."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from jobrunner.settings import Settings
from jobrunner.worker.loop import Worker
from tests.integration.api.conftest import app, auth, client, db  # noqa: F401 - fixtures
from tests.integration.worker.conftest import fast_settings
from tests.support.receivers import SmtpSink, smtp_server


@pytest.fixture
def smtp() -> Iterator[SmtpSink]:
    with smtp_server() as sink:
        yield sink


@pytest.fixture
def settings(tmp_path: Path, smtp: SmtpSink) -> Settings:
    return fast_settings(
        data_dir=tmp_path / "data",
        smtp_port=smtp.port,
        smtp_from="jobs@jobrunner.test",
        webhook_timeout_seconds=2.0,
        max_body_bytes=16 * 1024,
        upload_max_bytes=8 * 1024 * 1024,
        sync_batch_size=10,
        pool_min_size=1,
        # The receivers of these tests listen on loopback.
        outbound_allowed_networks=["127.0.0.0/8"],
    )


@pytest.fixture
async def worker(database_url: str, settings: Settings) -> AsyncIterator[Worker]:
    async with Worker(database_url, settings, concurrency=4, worker_id="jobtypes-test").running() as w:
        yield w


async def start_job(
    client: httpx.AsyncClient, job_type: str, payload: dict[str, Any], user: str = "user_admin", **extra: Any
) -> str:
    response = await client.post(
        "/v1/jobs", json={"jobType": job_type, "payload": payload, **extra}, headers=auth(user)
    )
    assert response.status_code == 202, response.text
    return response.json()["jobId"]


async def wait_final(
    client: httpx.AsyncClient, job_id: str, user: str = "user_admin", timeout: float = 20.0
) -> dict[str, Any]:
    """Poll the status endpoint, as a frontend does, until the job is final; returns the
    job and the statuses seen on the way."""
    import asyncio
    import time

    seen: list[str] = []
    deadline = time.monotonic() + timeout
    while True:
        response = await client.get(f"/v1/jobs/{job_id}/status", headers=auth(user))
        assert response.status_code == 200, response.text
        job = response.json()["job"]
        if not seen or seen[-1] != job["status"]:
            seen.append(job["status"])
        if job["status"] in ("succeeded", "failed", "cancelled"):
            job["seen"] = seen
            return job
        assert time.monotonic() < deadline, f"job still {job['status']} after {timeout} s"
        await asyncio.sleep(0.05)
