"""Flow control over the API: /v1/admin/flow and a breaker's reset (jobs.manage_jobs, the
caller's organization only), and the paused job types /v1/me/activity gives the page."""

from __future__ import annotations

import asyncpg
import httpx
import pytest

from tests.integration.api.conftest import assert_problem, auth

ENDPOINTS = [
    ("GET", "/v1/admin/flow"),
    ("POST", "/v1/admin/breakers/notification/reset"),
]


async def open_breaker(
    db: asyncpg.Connection, job_type: str = "notification", per_org: bool = True, org: str = "org_acme"
) -> None:
    await db.execute(
        "INSERT INTO circuit_breaker_rules (job_type, per_organization, failure_threshold, window_seconds,"
        " cooldown_seconds) VALUES ($1, $2, 3, 60, 30) ON CONFLICT DO NOTHING",
        job_type,
        per_org,
    )
    await db.execute(
        "INSERT INTO circuit_breakers (job_type, organization_id, state, failures, opened_at, retry_at, last_error)"
        " VALUES ($1, $2, 'open', 3, now(), now() + interval '30 s', 'secret of ' || $2 || ': 503 from x')",
        job_type,
        org if per_org else "",
    )


@pytest.mark.parametrize("user", ["user_member", "user_viewer"])
@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
async def test_403_without_manage_jobs(
    client: httpx.AsyncClient, db: asyncpg.Connection, user: str, method: str, path: str
) -> None:
    await open_breaker(db)
    response = await client.request(method, path, headers=auth(user))
    assert assert_problem(response, 403)["detail"] == "missing permission jobs.manage_jobs"
    assert await db.fetchval("SELECT state FROM circuit_breakers") == "open"


async def test_the_reset_reaches_only_the_callers_organization(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    await open_breaker(db, org="org_acme")
    # Globex's admin resets Globex's breaker (closed, none counted): Acme's stays open.
    response = await client.post("/v1/admin/breakers/notification/reset", headers=auth("user_globex"))
    assert response.json()["previousState"] == "closed"
    assert dict(await db.fetch("SELECT organization_id, state FROM circuit_breakers")) == {"org_acme": "open"}


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
async def test_401_without_a_token(client: httpx.AsyncClient, method: str, path: str) -> None:
    assert_problem(await client.request(method, path), 401)


async def test_the_organizations_view(client: httpx.AsyncClient, db: asyncpg.Connection) -> None:
    await db.execute("INSERT INTO organization_tiers VALUES ('org_acme', 'enterprise')")
    await db.execute(
        "INSERT INTO job_type_limits (job_type, max_running, max_running_per_org) VALUES ('export_report', 4, 2)"
    )
    await db.execute(
        "INSERT INTO rate_limits (job_type, per_organization, max_starts, period_seconds)"
        " VALUES ('notification', true, 100, 60), (NULL, false, 1000, 60)"
    )
    await open_breaker(db, org="org_globex")  # another organization's receiver fails
    await open_breaker(db, "sync", per_org=False)  # shared by all
    flow = (await client.get("/v1/admin/flow", headers=auth("user_admin"))).json()
    assert flow["organization"] == {"tier": "enterprise", "weight": 3, "maxRunning": 20, "running": 0}
    assert flow["jobTypeCaps"] == [{"jobType": "export_report", "maxRunning": 4, "maxRunningPerOrganization": 2}]
    assert flow["rateLimits"] == [
        {"jobType": None, "scope": "cluster", "maxStarts": 1000, "periodSeconds": 60, "usedByOrganization": None},
        {
            "jobType": "notification",
            "scope": "organization",
            "maxStarts": 100,
            "periodSeconds": 60,
            "usedByOrganization": 0,
        },
    ]
    notification, sync = flow["breakers"]
    # Globex's breaker is not Acme's: Acme's is closed (never failed).
    assert notification == {
        "jobType": "notification",
        "scope": "organization",
        "state": "closed",
        "failures": 0,
        "failureThreshold": 3,
        "windowSeconds": 60,
        "cooldownSeconds": 30,
        "openedAt": None,
        "retryAt": None,
    }
    assert sync["scope"] == "cluster" and sync["state"] == "open" and sync["failures"] == 3 and sync["retryAt"]
    # No organization's errors show.
    assert "secret" not in str(flow)
    globex = (await client.get("/v1/admin/flow", headers=auth("user_globex"))).json()
    assert globex["breakers"][0]["state"] == "open"
    # Another organization sees its own tier (none) and limit.
    assert globex["organization"] == {"tier": None, "weight": 1, "maxRunning": 5, "running": 0}
    # The queue shows the tier's limit too.
    queue = (await client.get("/v1/admin/queue", headers=auth("user_admin"))).json()
    assert queue["maxRunning"] == 20


async def test_paused_type_is_a_waiting_reason_and_a_reset_ends_it(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    await open_breaker(db)
    await open_breaker(db, org="org_globex")
    activity = (await client.get("/v1/me/activity", headers=auth("user_member"))).json()
    [paused] = activity["pausedJobTypes"]
    assert paused["jobType"] == "notification" and paused["reason"] == "paused: receiver failing"
    assert paused["state"] == "open" and paused["retryAt"].endswith("Z")

    response = await client.post("/v1/admin/breakers/notification/reset", headers=auth("user_admin"))
    assert response.status_code == 200
    assert response.json() == {"jobType": "notification", "previousState": "open", "state": "closed"}
    # Only Acme's breaker: Globex's stays open.
    assert dict(await db.fetch("SELECT organization_id, state FROM circuit_breakers")) == {
        "org_acme": "closed",
        "org_globex": "open",
    }
    assert (await client.get("/v1/me/activity", headers=auth("user_member"))).json()["pausedJobTypes"] == []
    theirs = (await client.get("/v1/me/activity", headers=auth("user_globex"))).json()["pausedJobTypes"]
    assert [p["jobType"] for p in theirs] == ["notification"]
    # Audited: in the organization's log and in flow_changes, naming the admin.
    audit = await db.fetchrow("SELECT * FROM audit_logs WHERE action = 'breaker.reset'")
    assert audit["organization_id"] == "org_acme" and audit["user_id"] == "user_admin"
    assert audit["details"] == {"jobType": "notification", "previousState": "open"}
    assert await db.fetchval("SELECT actor FROM flow_changes WHERE subject = 'circuit_breakers'") == (
        "user:user_admin@org_acme"
    )


async def test_a_cluster_breaker_pauses_everyone_and_only_operators_reset_it(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    await open_breaker(db, "sync", per_org=False)
    for user in ("user_member", "user_globex"):
        paused = (await client.get("/v1/me/activity", headers=auth(user))).json()["pausedJobTypes"]
        assert [p["jobType"] for p in paused] == ["sync"]
    body = assert_problem(await client.post("/v1/admin/breakers/sync/reset", headers=auth("user_admin")), 409)
    assert "operator" in body["detail"]
    assert await db.fetchval("SELECT state FROM circuit_breakers") == "open"


async def test_reset_of_an_unknown_breaker_is_404_and_a_bad_name_422(client: httpx.AsyncClient) -> None:
    admin = auth("user_admin")
    assert_problem(await client.post("/v1/admin/breakers/export_report/reset", headers=admin), 404)
    assert_problem(await client.post("/v1/admin/breakers/bad%20name/reset", headers=admin), 422)
    assert_problem(await client.post(f"/v1/admin/breakers/{'x' * 51}/reset", headers=admin), 422)
