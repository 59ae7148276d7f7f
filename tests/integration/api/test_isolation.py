"""Another user's or another organization's job is a 404 on every endpoint and never
appears in a list; nothing about it changes."""

from __future__ import annotations

import uuid

import pytest

from tests.integration.api.conftest import assert_problem, auth, set_state


@pytest.mark.parametrize("intruder", ["user_member", "user_globex"])
async def test_other_users_job_is_404_everywhere(client, create_job, db, intruder):
    job_id = await create_job("user_admin")
    failed_id = await create_job("user_admin")
    await set_state(db, failed_id, status="failed", completed_at=await db.fetchval("SELECT now()"))
    before = await db.fetch("SELECT * FROM jobs ORDER BY id")

    for method, url in [
        ("GET", f"/v1/jobs/{job_id}/status"),
        ("POST", f"/v1/jobs/{job_id}/cancel"),
        ("POST", f"/v1/jobs/{failed_id}/retry"),
        ("GET", f"/v1/jobs/{failed_id}/status"),
    ]:
        response = await client.request(method, url, headers=auth(intruder))
        body = assert_problem(response, 404)
        assert body["detail"] == "job not found"

    listing = (await client.get("/v1/jobs", headers=auth(intruder))).json()
    assert listing["jobs"] == [] and listing["total"] == 0
    assert await db.fetch("SELECT * FROM jobs ORDER BY id") == before


async def test_missing_and_foreign_jobs_answer_identically(client, create_job):
    foreign = await create_job("user_globex")
    missing = str(uuid.uuid4())
    a = await client.get(f"/v1/jobs/{foreign}/status", headers=auth("user_admin"))
    b = await client.get(f"/v1/jobs/{missing}/status", headers=auth("user_admin"))
    assert (a.status_code, a.json()) == (b.status_code, b.json())


async def test_same_user_in_another_org_sees_only_that_orgs_jobs(client, create_job, db):
    job_id = await create_job("user_admin")
    await db.execute("INSERT INTO organization_members VALUES ('org_globex', 'user_admin')")
    await db.execute("INSERT INTO user_roles VALUES ('org_globex', 'user_admin', 'admin')")
    headers = auth("user_admin", "org_globex")
    assert_problem(await client.get(f"/v1/jobs/{job_id}/status", headers=headers), 404)
    assert (await client.get("/v1/jobs", headers=headers)).json()["total"] == 0
