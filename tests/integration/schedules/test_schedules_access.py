"""Who may manage schedules: ``schedules.manage_schedules`` (admin role) plus what
creating the job type needs; another organization's schedules are a 404."""

from __future__ import annotations

import uuid

import asyncpg
import httpx
import pytest

from tests.integration.schedules.conftest import SCHEDULE_BODY, assert_problem, auth

SOME_ID = str(uuid.uuid4())
ENDPOINTS = [
    ("POST", "/v1/schedules", SCHEDULE_BODY),
    ("GET", "/v1/schedules", None),
    ("GET", f"/v1/schedules/{SOME_ID}", None),
    ("PATCH", f"/v1/schedules/{SOME_ID}", {"paused": True}),
    ("DELETE", f"/v1/schedules/{SOME_ID}", None),
]


@pytest.mark.parametrize("user", ["user_member", "user_viewer"])
@pytest.mark.parametrize(("method", "path", "body"), ENDPOINTS)
async def test_403_without_manage_schedules(client: httpx.AsyncClient, user: str, method: str, path: str, body) -> None:
    response = await client.request(method, path, json=body, headers=auth(user))
    assert assert_problem(response, 403)["detail"] == "missing permission schedules.manage_schedules"


@pytest.mark.parametrize(("method", "path", "body"), ENDPOINTS)
async def test_401_without_a_token(client: httpx.AsyncClient, method: str, path: str, body) -> None:
    assert_problem(await client.request(method, path, json=body), 401)


async def test_only_admins_hold_the_permission(db: asyncpg.Connection) -> None:
    roles = await db.fetch(
        "SELECT role_name FROM role_permissions WHERE permission_name = 'schedules.manage_schedules'"
    )
    assert [r["role_name"] for r in roles] == ["admin"]


async def test_the_job_types_permission_is_needed_too(
    client: httpx.AsyncClient, create_schedule, db: asyncpg.Connection
) -> None:
    schedule = await create_schedule()
    await db.execute(
        "DELETE FROM role_permissions WHERE role_name = 'admin' AND permission_name = 'reports.export_reports'"
    )
    response = await client.post("/v1/schedules", json=SCHEDULE_BODY, headers=auth("user_admin"))
    assert assert_problem(response, 403)["detail"] == "missing permission reports.export_reports"
    patched = await client.patch(f"/v1/schedules/{schedule['id']}", json={"priority": 1}, headers=auth("user_admin"))
    assert_problem(patched, 403)
    patched = await client.patch(
        f"/v1/schedules/{schedule['id']}", json={"paused": True, "priority": 1}, headers=auth("user_admin")
    )
    assert_problem(patched, 403)
    # Reading, pausing, resuming and deleting need only the schedules permission.
    assert (await client.get(f"/v1/schedules/{schedule['id']}", headers=auth("user_admin"))).status_code == 200
    for paused in (True, False):
        answer = await client.patch(
            f"/v1/schedules/{schedule['id']}", json={"paused": paused}, headers=auth("user_admin")
        )
        assert answer.status_code == 200 and answer.json()["paused"] is paused, answer.text
    assert (await client.delete(f"/v1/schedules/{schedule['id']}", headers=auth("user_admin"))).status_code == 204


async def test_revoking_the_role_takes_effect_at_once(client: httpx.AsyncClient, db: asyncpg.Connection) -> None:
    assert (await client.get("/v1/schedules", headers=auth("user_admin"))).status_code == 200
    await db.execute("UPDATE user_roles SET role_name = 'member' WHERE user_id = 'user_admin'")
    assert_problem(await client.get("/v1/schedules", headers=auth("user_admin")), 403)


async def test_another_organizations_schedules_are_a_404(
    client: httpx.AsyncClient, create_schedule, db: asyncpg.Connection
) -> None:
    theirs = await create_schedule("user_globex")
    ours = await create_schedule("user_admin")
    admin = auth("user_admin")
    listed = (await client.get("/v1/schedules", headers=admin)).json()
    assert [s["id"] for s in listed["schedules"]] == [ours["id"]] and listed["total"] == 1
    path = f"/v1/schedules/{theirs['id']}"
    assert_problem(await client.get(path, headers=admin), 404)
    assert_problem(await client.patch(path, json={"paused": True}, headers=admin), 404)
    assert_problem(await client.delete(path, headers=admin), 404)
    row = await db.fetchrow("SELECT paused FROM schedules WHERE id = $1", uuid.UUID(theirs["id"]))
    assert row["paused"] is False
    globex = (await client.get("/v1/schedules", headers=auth("user_globex"))).json()
    assert [s["id"] for s in globex["schedules"]] == [theirs["id"]]
    # A token naming another organization than the user's is no member there: 401.
    assert_problem(await client.get("/v1/schedules", headers=auth("user_admin", "org_globex")), 401)
