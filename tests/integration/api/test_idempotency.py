"""Issue 13, part 3: ``Idempotency-Key`` on ``POST /v1/jobs`` with Stripe's semantics,
against the real database (and, for the concurrent case, a real server)."""

from __future__ import annotations

import asyncio
import datetime as dt

import httpx
import pytest

from jobrunner.app import create_app
from jobrunner.retention.idempotency import prune_idempotency_keys
from jobrunner.settings import Settings
from tests.conftest import JWT_SECRET
from tests.integration.api.conftest import EXPORT_BODY, assert_problem, auth
from tests.support.processes import serving_in_thread

KEY = "order-1234/attempt"


def keyed(user: str, key: str = KEY, org: str | None = None) -> dict[str, str]:
    return {**auth(user, org), "Idempotency-Key": key}


async def job_count(db) -> int:
    return await db.fetchval("SELECT count(*) FROM jobs")


async def test_same_key_and_body_replays_the_first_answer(client, db):
    first = await client.post("/v1/jobs", json=EXPORT_BODY, headers=keyed("user_member"))
    assert first.status_code == 202, first.text
    assert "Idempotent-Replayed" not in first.headers
    # The same JSON with its keys in another order and other spacing is the same body.
    reordered = b'{"priority": 5,  "payload": {"format": "csv", "filters": {"dateTo": "2024-12-31", "dateFrom": "2024-01-01"}, "reportType": "quotes"}, "jobType": "export_report"}'
    again = await client.post(
        "/v1/jobs", content=reordered, headers={**keyed("user_member"), "Content-Type": "application/json"}
    )
    assert again.status_code == first.status_code == 202
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.headers["Location"] == first.headers["Location"]
    assert await job_count(db) == 1
    audit = await db.fetchval("SELECT count(*) FROM audit_logs WHERE action = 'job.created'")
    assert audit == 1


async def test_same_key_with_another_body_is_422(client, db):
    assert (await client.post("/v1/jobs", json=EXPORT_BODY, headers=keyed("user_member"))).status_code == 202
    other = {**EXPORT_BODY, "priority": 6}
    problem = assert_problem(await client.post("/v1/jobs", json=other, headers=keyed("user_member")), 422)
    assert problem["errors"][0]["loc"] == "Idempotency-Key"
    assert "another request body" in problem["detail"]
    assert await job_count(db) == 1


async def test_keys_are_per_user_and_organization(client, db):
    ids = set()
    for user, org in (("user_member", None), ("user_admin", None), ("user_globex", None)):
        response = await client.post("/v1/jobs", json=EXPORT_BODY, headers=keyed(user, org=org))
        assert response.status_code == 202 and "Idempotent-Replayed" not in response.headers
        ids.add(response.json()["jobId"])
    # The same user in another organization: another scope too.
    await db.execute("INSERT INTO organization_members VALUES ('org_globex', 'user_admin')")
    await db.execute("INSERT INTO user_roles VALUES ('org_globex', 'user_admin', 'admin')")
    response = await client.post("/v1/jobs", json=EXPORT_BODY, headers=keyed("user_admin", org="org_globex"))
    assert response.status_code == 202 and "Idempotent-Replayed" not in response.headers
    ids.add(response.json()["jobId"])
    assert len(ids) == 4 and await job_count(db) == 4


@pytest.mark.parametrize("key", [b"", b"   ", b"x" * 256, "caf\u00e9".encode("latin-1"), b"tab\there"])
async def test_malformed_keys_are_422(client, db, key):
    headers = {**auth("user_member"), "Idempotency-Key": key}
    response = await client.post("/v1/jobs", json=EXPORT_BODY, headers=headers)
    problem = assert_problem(response, 422)
    assert problem["errors"][0]["loc"] == "Idempotency-Key"
    assert await job_count(db) == 0


async def test_longest_key_is_accepted(client):
    response = await client.post("/v1/jobs", json=EXPORT_BODY, headers=keyed("user_member", "k" * 255))
    assert response.status_code == 202


async def test_a_refused_request_does_not_store_the_key(client, db):
    """4xx answers are not stored: the caller fixes the request and sends it with the same key."""
    invalid = {**EXPORT_BODY, "payload": {**EXPORT_BODY["payload"], "format": "pdf"}}
    assert_problem(await client.post("/v1/jobs", json=invalid, headers=keyed("user_member")), 422)
    cleanup = {"jobType": "cleanup", "payload": {"target": "all", "olderThanDays": 30}}
    assert_problem(await client.post("/v1/jobs", json=cleanup, headers=keyed("user_member")), 403)
    assert await db.fetchval("SELECT count(*) FROM idempotency_keys") == 0
    created = await client.post("/v1/jobs", json=EXPORT_BODY, headers=keyed("user_member"))
    assert created.status_code == 202 and "Idempotent-Replayed" not in created.headers


async def test_a_quota_refusal_leaves_the_key_free(client, db):
    await db.execute("INSERT INTO organization_limits (organization_id, max_queued_jobs) VALUES ('org_acme', 1)")
    assert (await client.post("/v1/jobs", json=EXPORT_BODY, headers=auth("user_member"))).status_code == 202
    refused = await client.post("/v1/jobs", json=EXPORT_BODY, headers=keyed("user_member"))
    assert_problem(refused, 429)
    await db.execute("UPDATE jobs SET status = 'cancelled', completed_at = now(), cancelled_at = now()")
    created = await client.post("/v1/jobs", json=EXPORT_BODY, headers=keyed("user_member"))
    assert created.status_code == 202 and "Idempotent-Replayed" not in created.headers
    assert await job_count(db) == 2


async def test_a_replay_does_not_revalidate(client, db):
    """A retry after the scheduled time has passed still gets the first answer (Stripe
    replays without running the request again)."""
    soon = (dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1)).isoformat()
    body = {**EXPORT_BODY, "scheduledAt": soon}
    first = await client.post("/v1/jobs", json=body, headers=keyed("user_member"))
    assert first.status_code == 202
    await asyncio.sleep(1.2)
    assert_problem(await client.post("/v1/jobs", json=body, headers=auth("user_member")), 422)
    again = await client.post("/v1/jobs", json=body, headers=keyed("user_member"))
    assert again.status_code == 202 and again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"


async def test_expired_keys_are_free_again_and_pruned(client, db, pool):
    first = await client.post("/v1/jobs", json=EXPORT_BODY, headers=keyed("user_member"))
    await db.execute("UPDATE idempotency_keys SET created_at = now() - interval '25 hours'")
    # Another body is fine now: the key has expired.
    other = {**EXPORT_BODY, "priority": 1}
    second = await client.post("/v1/jobs", json=other, headers=keyed("user_member"))
    assert second.status_code == 202 and "Idempotent-Replayed" not in second.headers
    assert second.json()["jobId"] != first.json()["jobId"]
    assert await db.fetchval("SELECT count(*) FROM idempotency_keys") == 1  # taken over

    await client.post("/v1/jobs", json=EXPORT_BODY, headers=keyed("user_member", "another"))
    await db.execute("UPDATE idempotency_keys SET created_at = now() - interval '25 hours' WHERE key = $1", KEY)
    assert await prune_idempotency_keys(pool, Settings(), batch_size=1) == 1
    assert await db.fetchval("SELECT array_agg(key) FROM idempotency_keys") == ["another"]


async def test_twenty_concurrent_requests_create_one_job(database_url, db):
    """20 requests with one key at once against a real server: one job, 20 equal answers."""
    app = create_app(Settings(pool_min_size=1, pool_max_size=8), database_url, JWT_SECRET)
    with serving_in_thread(app) as base_url:
        async with httpx.AsyncClient(base_url=base_url, timeout=30) as http:
            responses = await asyncio.gather(
                *(http.post("/v1/jobs", json=EXPORT_BODY, headers=keyed("user_member")) for _ in range(20))
            )
    assert {r.status_code for r in responses} == {202}
    assert len({r.content for r in responses}) == 1
    assert sum(r.headers.get("Idempotent-Replayed") == "true" for r in responses) == 19
    assert await job_count(db) == 1
    job_id = await db.fetchval("SELECT id::text FROM jobs")
    assert responses[0].json()["jobId"] == job_id


async def test_openapi_declares_the_headers(client):
    operation = (await client.get("/openapi.json")).json()["paths"]["/v1/jobs"]["post"]
    [parameter] = [p for p in operation["parameters"] if p["in"] == "header"]
    assert parameter["name"] == "Idempotency-Key" and parameter["schema"]["maxLength"] == 255
    assert "Idempotent-Replayed" in operation["responses"]["202"]["headers"]


async def test_a_replay_is_authorized_like_a_creation(client, db):
    """Revocation holds for replays: no stored answer for whoever may no longer create jobs."""
    assert (await client.post("/v1/jobs", json=EXPORT_BODY, headers=keyed("user_member"))).status_code == 202
    await db.execute("DELETE FROM role_permissions WHERE role_name = 'member' AND permission_name = 'jobs.create_jobs'")
    assert_problem(await client.post("/v1/jobs", json=EXPORT_BODY, headers=keyed("user_member")), 403)
    await db.execute("DELETE FROM organization_members WHERE user_id = 'user_member'")
    assert_problem(await client.post("/v1/jobs", json=EXPORT_BODY, headers=keyed("user_member")), 401)
    # Another user with the same key never gets it.
    other = await client.post("/v1/jobs", json=EXPORT_BODY, headers=keyed("user_admin"))
    assert other.status_code == 202 and "Idempotent-Replayed" not in other.headers
