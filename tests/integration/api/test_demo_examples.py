"""What ``make run`` seeds besides identities and quotes (``load_demo_data(examples=True)``):
job templates a member can start from the page, and a schedule that is paused, so the
demo starts no job by itself."""

from __future__ import annotations

import httpx

from jobrunner.db.demo_data import DEMO_TEMPLATES, load_demo_data
from tests.integration.api.conftest import auth


async def test_demo_templates_start_jobs_and_the_schedule_is_paused(client: httpx.AsyncClient, database_url: str, db):
    await load_demo_data(database_url, quotes_per_org=20, examples=True)
    await load_demo_data(database_url, quotes_per_org=20, examples=True)  # again: nothing duplicated

    listed = await client.get("/v1/job-templates", headers=auth("user_member"))
    assert listed.status_code == 200, listed.text
    templates = listed.json()["templates"]
    assert sorted(t["name"] for t in templates) == sorted(t.name for t in DEMO_TEMPLATES)
    assert {t["createdBy"] for t in templates} == {"user_admin"}

    # Each one is a valid configuration: a member starts a job from it.
    for template in templates:
        started = await client.post("/v1/jobs", json={"templateId": template["id"]}, headers=auth("user_member"))
        assert started.status_code == 202, started.text
        status = await client.get(f"/v1/jobs/{started.json()['jobId']}/status", headers=auth("user_member"))
        job = status.json()["job"]
        assert (job["templateId"], job["payload"], job["priority"]) == (
            template["id"],
            template["payload"],
            template["priority"],
        )

    # The other organization has its own copies, owned by its administrator.
    globex = (await client.get("/v1/job-templates", headers=auth("user_globex"))).json()["templates"]
    assert {t["createdBy"] for t in globex} == {"user_globex"}
    assert not {t["id"] for t in globex} & {t["id"] for t in templates}

    schedules = (await client.get("/v1/schedules", headers=auth("user_admin"))).json()["schedules"]
    assert [(s["paused"], s["nextRunAt"], s["userId"]) for s in schedules] == [(True, None, "user_admin")]
    # Only the two jobs started above exist: nothing seeded created one.
    assert await db.fetchval("SELECT count(*) FROM jobs") == 2
    assert await db.fetchval("SELECT count(*) FROM jobs WHERE schedule_id IS NOT NULL") == 0
