"""``jobrunner_sse_streams`` (docs/push.md, docs/operations.md): the API process's /metrics,
scraped while event streams are open on a real server, counts them (one-job and list
streams together) and goes back down when they end, however they end."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from jobrunner.app import create_app
from jobrunner.settings import Settings
from tests.conftest import JWT_SECRET
from tests.integration.api.conftest import EXPORT_BODY, auth
from tests.integration.observability.conftest import METRICS_TOKEN, samples, value
from tests.support.processes import serving_in_thread

pytestmark = pytest.mark.slow

SCRAPER = {"Authorization": f"Bearer {METRICS_TOKEN}"}


async def open_streams(http: httpx.AsyncClient) -> float:
    return value(samples((await http.get("/metrics", headers=SCRAPER)).text), "jobrunner_sse_streams")


async def until_streams(http: httpx.AsyncClient, wanted: float, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while (found := await open_streams(http)) != wanted:
        assert time.monotonic() < deadline, f"{found} streams open, wanted {wanted}"
        await asyncio.sleep(0.05)


async def test_the_gauge_counts_the_streams_open_now(database_url: str) -> None:
    settings = Settings(pool_min_size=1, pool_max_size=4, metrics_token=METRICS_TOKEN, sse_heartbeat_seconds=0.3)
    app = create_app(settings, database_url, JWT_SECRET)
    with serving_in_thread(app) as url:
        async with httpx.AsyncClient(base_url=url, timeout=15) as http:
            assert await open_streams(http) == 0
            created = await http.post("/v1/jobs", headers=auth("user_member"), json=EXPORT_BODY)  # no worker: queued
            job_id = created.json()["jobId"]
            async with http.stream("GET", "/v1/jobs/events", headers=auth("user_member")) as listing:
                assert listing.status_code == 200
                await until_streams(http, 1)
                async with http.stream("GET", f"/v1/jobs/{job_id}/events", headers=auth("user_member")) as one:
                    assert one.status_code == 200
                    await until_streams(http, 2)
                    # The one-job stream ends by itself once its job is final.
                    assert (
                        await http.post(f"/v1/jobs/{job_id}/cancel", headers=auth("user_member"))
                    ).status_code == 200
                    async for line in one.aiter_lines():
                        if line.startswith("event: end"):
                            break
                    await until_streams(http, 1)
            # The client left the list stream: the server notices and forgets it.
            await until_streams(http, 0)
            # A stream refused before it starts (another user's job: 404) never counts.
            refused = await http.get(f"/v1/jobs/{job_id}/events", headers=auth("user_admin"))
            assert refused.status_code == 404
            assert await open_streams(http) == 0
