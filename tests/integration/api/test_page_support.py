"""The two small API additions the jobs page needs (issue 15): ``GET /v1/jobs?idPrefix=``
(search by the start of an id) and ``GET /v1/me/activity`` (why a queued job waits)."""

from __future__ import annotations

from tests.integration.api.conftest import assert_problem, auth, set_state


async def test_list_by_id_prefix_finds_only_the_callers_jobs_starting_so(client, create_job):
    ids = [await create_job() for _ in range(4)]
    other = (
        await client.post(
            "/v1/jobs",
            json={"jobType": "export_report", "payload": {"reportType": "quotes", "format": "csv"}},
            headers=auth("user_member"),
        )
    ).json()["jobId"]
    target = ids[2]
    for length in (1, 8, 36):
        prefix = target[:length]
        body = (await client.get(f"/v1/jobs?idPrefix={prefix.upper()}", headers=auth("user_admin"))).json()
        found = [job["id"] for job in body["jobs"]]
        assert target in found and other not in found
        assert all(job_id.startswith(prefix) for job_id in found)
        assert body["total"] == len(found) == sum(job_id.startswith(prefix) for job_id in ids)
    none = (await client.get(f"/v1/jobs?idPrefix={other[:36]}", headers=auth("user_admin"))).json()
    assert none["jobs"] == [] and none["total"] == 0
    # Not an id: a 422 naming the parameter (no SQL pattern characters get through).
    for bad in ("%25", "_", "x" * 5, "0" * 37):
        body = assert_problem(await client.get(f"/v1/jobs?idPrefix={bad}", headers=auth("user_admin")), 422)
        assert body["errors"][0]["loc"] == "idPrefix"


async def test_activity_counts_the_organizations_running_jobs_against_its_limit(client, create_job, db, settings):
    assert (await client.get("/v1/me/activity", headers=auth("user_viewer"))).json() == {
        "organizationRunning": 0,
        "organizationLimit": settings.org_concurrency_limit,
        "pausedJobTypes": [],
    }
    job_id = await create_job()
    await set_state(db, job_id, status="running", locked_by="w1")
    await db.execute("UPDATE organizations SET max_concurrent_jobs = 1 WHERE id = 'org_acme'")
    assert (await client.get("/v1/me/activity", headers=auth("user_member"))).json() == {
        "organizationRunning": 1,
        "organizationLimit": 1,
        "pausedJobTypes": [],
    }
    # Another organization's count is its own.
    globex = (await client.get("/v1/me/activity", headers=auth("user_globex", "org_globex"))).json()
    assert globex["organizationRunning"] == 0
    assert_problem(await client.get("/v1/me/activity"), 401)
    assert_problem(await client.get("/v1/me/activity", headers=auth("user_member", "org_globex")), 401)
