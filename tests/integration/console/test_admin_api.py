"""The operations console's API (/v1/admin): every job of the organization with search,
a job's history, bulk cancel and retry, retry anyway, the queue and the workers."""

from __future__ import annotations

import datetime as dt
import uuid

import asyncpg
import httpx
import pytest

from jobrunner.settings import Settings
from tests.integration.api.conftest import EXPORT_BODY, assert_problem, auth, set_state, state_columns

NOTIFY_BODY = {
    "jobType": "notification",
    "payload": {"channel": "webhook", "template": "job_completed", "data": {"jobName": "x"}},
}


@pytest.fixture
def settings() -> Settings:
    """The default body limit (a selection of 1000 ids is some 40 kB)."""
    return Settings(pool_min_size=1, pool_max_size=8)


async def test_an_admin_sees_every_users_jobs_of_the_organization(client: httpx.AsyncClient, create_job) -> None:
    mine = await create_job("user_admin")
    members = [await create_job("user_member") for _ in range(3)]
    response = await client.get("/v1/admin/jobs", headers=auth("user_admin"))
    assert response.status_code == 200, response.text
    body = response.json()
    assert [job["id"] for job in body["jobs"]] == [*reversed(members), mine]  # newest first
    assert body["total"] == 4 and body["totalCapped"] is False and body["totalPages"] == 1
    assert {job["userId"] for job in body["jobs"]} == {"user_admin", "user_member"}
    assert "payload" not in body["jobs"][0]
    # The user's own list still shows only their own.
    own = (await client.get("/v1/jobs", headers=auth("user_admin"))).json()
    assert [job["id"] for job in own["jobs"]] == [mine]


async def test_search_by_id_prefix_user_type_state_and_created_range(
    client: httpx.AsyncClient, create_job, db: asyncpg.Connection
) -> None:
    first = await create_job("user_member")
    second = await create_job("user_admin")
    await set_state(db, second, **state_columns("failed"))
    await db.execute("UPDATE jobs SET created_at = '2024-01-01T09:00:00Z' WHERE id = $1", uuid.UUID(first))

    async def ids(**params) -> list[str]:
        response = await client.get("/v1/admin/jobs", params=params, headers=auth("user_admin"))
        assert response.status_code == 200, response.text
        return [job["id"] for job in response.json()["jobs"]]

    assert await ids(id=first) == [first]
    assert await ids(id=first[:8]) == [first]
    assert await ids(id=first[:13].upper()) == [first]  # dashes and case do not matter
    assert await ids(userId="user_member") == [first]
    assert await ids(jobType="export_report") == [second, first]
    assert await ids(jobType="notification") == []
    assert await ids(status="failed") == [second]
    assert await ids(status=["failed", "queued"]) == [second, first]
    assert await ids(createdTo="2024-01-02T00:00:00Z") == [first]
    assert await ids(createdFrom="2024-01-02T00:00:00Z") == [second]
    assert await ids(createdFrom="2024-01-01T09:00:00Z", createdTo="2024-01-01T09:00:01Z") == [first]

    for bad in (
        {"id": "xyz"},
        {"status": "nope"},
        {"createdFrom": "2024-02-01T00:00:00Z", "createdTo": "2024-01-01T00:00:00Z"},
        {"userId": "user\x00"},
    ):
        assert_problem(await client.get("/v1/admin/jobs", params=bad, headers=auth("user_admin")), 422)


async def test_pages(client: httpx.AsyncClient, create_job) -> None:
    created = [await create_job("user_member") for _ in range(5)]
    page = (await client.get("/v1/admin/jobs?pageSize=2&page=3", headers=auth("user_admin"))).json()
    assert [job["id"] for job in page["jobs"]] == [created[0]]
    assert (page["total"], page["totalPages"], page["page"], page["pageSize"]) == (5, 3, 3, 2)


async def test_detail_shows_payload_result_and_history(
    client: httpx.AsyncClient, create_job, db: asyncpg.Connection
) -> None:
    job_id = await create_job("user_member")
    await set_state(db, job_id, **state_columns("failed"), retry_count=3, attempts=4)
    # A system row the worker side writes, and an action this console has never heard of.
    await db.execute(
        "INSERT INTO audit_logs (organization_id, user_id, actor, action, job_id, details) VALUES "
        "('org_acme', NULL, 'system', 'job.rescued', $1, '{\"worker\": \"w1\", \"status\": \"failed\"}'), "
        "('org_acme', NULL, 'system', 'job.something_new', $1, '[1, 2]')",
        uuid.UUID(job_id),
    )
    response = await client.get(f"/v1/admin/jobs/{job_id}", headers=auth("user_admin"))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["job"]["id"] == job_id and body["job"]["payload"] == EXPORT_BODY["payload"]
    assert body["job"]["errorMessage"] == "Invalid export job payload"
    assert (body["canRetry"], body["canRetryAnyway"], body["canCancel"]) == (False, True, False)
    assert body["attempts"] == 4
    actions = [(h["action"], h["actor"], h["userId"]) for h in body["history"]]
    assert actions == [
        ("job.created", "user", "user_member"),
        ("job.rescued", "system", None),
        ("job.something_new", "system", None),
    ]
    assert body["history"][0]["userName"] == "Max Member"
    assert body["history"][1]["details"] == {"worker": "w1", "status": "failed"}
    assert body["history"][2]["details"] == {"value": [1, 2]}
    assert body["historyTruncated"] is False


async def test_retry_anyway_a_job_whose_retries_are_exhausted(
    client: httpx.AsyncClient, create_job, db: asyncpg.Connection
) -> None:
    job_id = await create_job("user_member")
    await set_state(db, job_id, **state_columns("failed"), retry_count=3)
    # The document's rule: the user cannot.
    assert_problem(await client.post(f"/v1/jobs/{job_id}/retry", headers=auth("user_member")), 409)
    response = await client.post(f"/v1/admin/jobs/{job_id}/retry", headers=auth("user_admin"))
    assert response.status_code == 200, response.text
    job = await db.fetchrow(
        "SELECT status::text, retry_count, error_message FROM jobs WHERE id = $1", uuid.UUID(job_id)
    )
    assert dict(job) == {"status": "queued", "retry_count": 0, "error_message": None}
    audit = await db.fetchrow(
        "SELECT user_id, actor, details FROM audit_logs WHERE job_id = $1 AND action = 'job.retried_anyway'",
        uuid.UUID(job_id),
    )
    assert (audit["user_id"], audit["actor"]) == ("user_admin", "user")
    assert audit["details"] == {"via": "console", "previousRetryCount": 3, "maxRetries": 3}
    # Not failed any more: 409; unknown: 404.
    assert_problem(await client.post(f"/v1/admin/jobs/{job_id}/retry", headers=auth("user_admin")), 409)
    assert_problem(await client.post(f"/v1/admin/jobs/{uuid.uuid4()}/retry", headers=auth("user_admin")), 404)


async def test_bulk_cancel_a_selection(client: httpx.AsyncClient, create_job, db: asyncpg.Connection) -> None:
    queued = await create_job("user_member")
    running = await create_job("user_admin")
    done = await create_job("user_member")
    await set_state(db, running, **state_columns("running"))
    await set_state(db, done, **state_columns("succeeded"))
    response = await client.post(
        "/v1/admin/jobs/cancel", json={"jobIds": [queued, running, done]}, headers=auth("user_admin")
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert sorted(body["jobIds"]) == sorted([queued, running]) and body["count"] == 2 and body["more"] is False
    states = dict(await db.fetch("SELECT id::text, status::text FROM jobs"))
    assert states == {queued: "cancelled", running: "cancelled", done: "succeeded"}
    audited = await db.fetch("SELECT job_id::text, user_id FROM audit_logs WHERE action = 'job.cancelled'")
    assert sorted((r["job_id"], r["user_id"]) for r in audited) == sorted(
        [(queued, "user_admin"), (running, "user_admin")]
    )


async def test_bulk_retry_by_filter_all_failed_notifications_since_ten(
    client: httpx.AsyncClient, create_job, db: asyncpg.Connection
) -> None:
    early, late, export = (
        await create_job("user_member", NOTIFY_BODY),
        await create_job("user_member", NOTIFY_BODY),
        await create_job("user_member"),
    )
    for job_id in (early, late, export):
        await set_state(db, job_id, **state_columns("failed"), retry_count=3)
    await db.execute("UPDATE jobs SET created_at = '2024-01-30T09:59:00Z' WHERE id = $1", uuid.UUID(early))
    await db.execute("UPDATE jobs SET created_at = '2024-01-30T10:05:00Z' WHERE id = $1", uuid.UUID(late))
    since_ten = {"jobType": "notification", "status": ["failed"], "createdFrom": "2024-01-30T10:00:00Z"}
    response = await client.post("/v1/admin/jobs/retry", json={"filter": since_ten}, headers=auth("user_admin"))
    assert response.status_code == 200, response.text
    assert response.json()["jobIds"] == [late]
    states = dict(await db.fetch("SELECT id::text, status::text FROM jobs"))
    assert states == {early: "failed", late: "queued", export: "failed"}


async def test_bulk_actions_are_bounded(client: httpx.AsyncClient, db: asyncpg.Connection) -> None:
    await db.execute(
        "INSERT INTO jobs (organization_id, user_id, job_type) "
        "SELECT 'org_acme', 'user_member', 'notification' FROM generate_series(1, 1001)"
    )
    first = await client.post("/v1/admin/jobs/cancel", json={"filter": {}}, headers=auth("user_admin"))
    assert first.status_code == 200, first.text
    assert (first.json()["count"], first.json()["more"]) == (1000, True)
    second = (await client.post("/v1/admin/jobs/cancel", json={"filter": {}}, headers=auth("user_admin"))).json()
    assert (second["count"], second["more"]) == (1, False)
    too_many = {"jobIds": [str(uuid.uuid4()) for _ in range(1001)]}
    assert_problem(await client.post("/v1/admin/jobs/cancel", json=too_many, headers=auth("user_admin")), 422)
    for bad in ({}, {"jobIds": [str(uuid.uuid4())], "filter": {}}, {"filter": {"nope": 1}}):
        assert_problem(await client.post("/v1/admin/jobs/retry", json=bad, headers=auth("user_admin")), 422)


async def test_queue_running_vs_limit_waiting_by_type_and_the_last_hour(
    client: httpx.AsyncClient, create_job, db: asyncpg.Connection
) -> None:
    waiting = await create_job("user_member", NOTIFY_BODY)
    await db.execute("UPDATE jobs SET created_at = now() - interval '90 seconds' WHERE id = $1", uuid.UUID(waiting))
    await create_job("user_member", {**EXPORT_BODY, "scheduledAt": "2099-01-01T00:00:00Z"})
    running = await create_job("user_member")
    ok, bad = await create_job("user_admin"), await create_job("user_admin")
    await set_state(db, running, **state_columns("running"))
    await set_state(db, ok, **state_columns("succeeded"))
    await set_state(db, bad, **state_columns("failed"))
    await db.execute("UPDATE organizations SET max_concurrent_jobs = 7 WHERE id = 'org_acme'")
    response = await client.get("/v1/admin/queue", headers=auth("user_admin"))
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["running"], body["maxRunning"]) == (1, 7)
    assert [(w["jobType"], w["due"], w["scheduled"]) for w in body["waiting"]] == [
        ("export_report", 0, 1),
        ("notification", 1, 0),
    ]
    assert 85 <= body["oldestWaitingSeconds"] < 150
    assert len(body["lastHour"]) == 12
    assert sum(b["succeeded"] for b in body["lastHour"]) == 1
    assert sum(b["failed"] for b in body["lastHour"]) == 1
    assert body["lastHour"][-1]["start"] <= body["at"]


async def test_workers_with_slots_in_use(client: httpx.AsyncClient, create_job, db: asyncpg.Connection) -> None:
    await db.execute(
        "INSERT INTO workers (id, hostname, pid, concurrency, heartbeat_at) VALUES "
        "('w1', 'host-a', 101, 50, now()), ('w2', 'host-b', 202, 10, now() - interval '10 minutes')"
    )
    mine, theirs = await create_job("user_member"), await create_job("user_globex")
    await set_state(db, mine, **state_columns("running"))
    await set_state(db, theirs, **state_columns("running"))  # also on w1
    response = await client.get("/v1/admin/workers", headers=auth("user_admin"))
    assert response.status_code == 200, response.text
    workers = response.json()["workers"]
    assert [(w["id"], w["hostname"], w["pid"], w["slots"]) for w in workers] == [
        ("w1", "host-a", 101, 50),
        ("w2", "host-b", 202, 10),
    ]
    assert (workers[0]["slotsInUse"], workers[0]["slotsInUseByOrganization"]) == (2, 1)
    assert (workers[0]["stale"], workers[1]["stale"]) == (False, True)
    assert workers[1]["heartbeatAgeSeconds"] >= 590
    assert dt.datetime.fromisoformat(workers[0]["heartbeatAt"])


async def test_the_endpoints_are_in_openapi_with_their_operation_ids(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    ids = {op["operationId"] for path in spec["paths"].values() for op in path.values() if "operationId" in op}
    assert {
        "listAdminJobs",
        "getAdminJob",
        "bulkCancelJobs",
        "bulkRetryJobs",
        "adminRetryJob",
        "getQueue",
        "listWorkers",
    } <= ids
    detail = spec["paths"]["/v1/admin/jobs/{job_id}"]["get"]
    assert detail["parameters"][0]["schema"]["format"] == "uuid"
    assert set(detail["responses"]) == {"200", "401", "403", "404", "422", "503"}
