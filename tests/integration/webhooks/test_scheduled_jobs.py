"""A schedule's jobs are created as POST /v1/jobs creates a job without `callbackUrl`:
with the organization's default callback URL, when it has one (docs/webhooks.md,
docs/workflows.md#schedules)."""

from __future__ import annotations

import uuid

import httpx

from jobrunner.schedules.firing import Scheduler
from jobrunner.settings import Settings
from tests.integration.api.conftest import auth

SCHEDULE = {
    "cron": "0 6 * * 1",
    "timezone": "UTC",
    "jobType": "export_report",
    "payload": {"reportType": "quotes", "format": "csv"},
}


async def _fire(client: httpx.AsyncClient, db, pool, settings: Settings, user: str) -> str | None:
    created = await client.post("/v1/schedules", json=SCHEDULE, headers=auth(user))
    assert created.status_code == 201, created.text
    schedule_id = uuid.UUID(created.json()["id"])
    await db.execute("UPDATE schedules SET next_run_at = date_trunc('second', now()) WHERE id = $1", schedule_id)
    assert await Scheduler(pool, settings).run_once() == 1
    return await db.fetchval("SELECT callback_url FROM jobs WHERE schedule_id = $1", schedule_id)


async def test_a_scheduled_job_takes_the_organizations_default_callback_url(
    client: httpx.AsyncClient, db, pool, settings: Settings
) -> None:
    url = "https://hooks.example.com/jobs"
    answer = await client.put("/v1/settings/webhook", json={"callbackUrl": url}, headers=auth("user_admin"))
    assert answer.status_code == 200, answer.text
    assert await _fire(client, db, pool, settings, "user_admin") == url
    # Another organization's schedule does not get it.
    assert await _fire(client, db, pool, settings, "user_globex") is None
