"""Who may use the console, and what it can reach: jobs.manage_jobs (admin role) only,
only the caller's organization; another organization's job is a 404 and bulk actions
never touch it."""

from __future__ import annotations

import uuid

import asyncpg
import httpx
import pytest

from tests.integration.api.conftest import assert_problem, auth, set_state, state_columns

ENDPOINTS = [
    ("GET", "/v1/admin/jobs", None),
    ("GET", f"/v1/admin/jobs/{uuid.uuid4()}", None),
    ("POST", "/v1/admin/jobs/cancel", {"filter": {}}),
    ("POST", "/v1/admin/jobs/retry", {"filter": {}}),
    ("POST", f"/v1/admin/jobs/{uuid.uuid4()}/retry", None),
    ("GET", "/v1/admin/queue", None),
    ("GET", "/v1/admin/workers", None),
]


@pytest.mark.parametrize("user", ["user_member", "user_viewer"])
@pytest.mark.parametrize(("method", "path", "body"), ENDPOINTS)
async def test_403_without_manage_jobs(client: httpx.AsyncClient, user: str, method: str, path: str, body) -> None:
    response = await client.request(method, path, json=body, headers=auth(user))
    assert assert_problem(response, 403)["detail"] == "missing permission jobs.manage_jobs"


@pytest.mark.parametrize(("method", "path", "body"), ENDPOINTS)
async def test_401_without_a_token(client: httpx.AsyncClient, method: str, path: str, body) -> None:
    assert_problem(await client.request(method, path, json=body), 401)


async def test_only_admins_hold_the_permission(db: asyncpg.Connection) -> None:
    roles = await db.fetch("SELECT role_name FROM role_permissions WHERE permission_name = 'jobs.manage_jobs'")
    assert [r["role_name"] for r in roles] == ["admin"]


async def test_revoking_the_role_takes_effect_at_once(client: httpx.AsyncClient, db: asyncpg.Connection) -> None:
    assert (await client.get("/v1/admin/queue", headers=auth("user_admin"))).status_code == 200
    await db.execute("UPDATE user_roles SET role_name = 'member' WHERE user_id = 'user_admin'")
    assert_problem(await client.get("/v1/admin/queue", headers=auth("user_admin")), 403)


async def test_another_organizations_jobs_are_invisible(
    client: httpx.AsyncClient, create_job, db: asyncpg.Connection
) -> None:
    theirs = await create_job("user_globex")
    await set_state(db, theirs, **state_columns("failed"), retry_count=3)
    ours = await create_job("user_member")
    admin = auth("user_admin")
    listed = (await client.get("/v1/admin/jobs", headers=admin)).json()
    assert [job["id"] for job in listed["jobs"]] == [ours]
    assert (await client.get("/v1/admin/jobs", params={"id": theirs}, headers=admin)).json()["jobs"] == []
    assert_problem(await client.get(f"/v1/admin/jobs/{theirs}", headers=admin), 404)
    assert_problem(await client.post(f"/v1/admin/jobs/{theirs}/retry", headers=admin), 404)
    for action in ("cancel", "retry"):
        for body in ({"jobIds": [theirs]}, {"filter": {}}, {"filter": {"userId": "user_globex"}}):
            response = await client.post(f"/v1/admin/jobs/{action}", json=body, headers=admin)
            assert theirs not in response.json()["jobIds"]
    assert await db.fetchval("SELECT status::text FROM jobs WHERE id = $1", uuid.UUID(theirs)) == "failed"
    assert await db.fetchval("SELECT count(*) FROM audit_logs WHERE job_id = $1", uuid.UUID(theirs)) == 1
    # Their admin sees their job and not ours.
    globex = (await client.get("/v1/admin/jobs", headers=auth("user_globex"))).json()
    assert [job["id"] for job in globex["jobs"]] == [theirs]
    queue = (await client.get("/v1/admin/queue", headers=auth("user_globex"))).json()
    assert queue["waiting"] == []
