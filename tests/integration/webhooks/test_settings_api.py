"""``/v1/settings/webhook`` (admins only) and ``callbackUrl`` at creation: validation in
our words, permissions (403), authentication (401), isolation between organizations and
users (the deliveries are shown only through the job's status: another user's job is 404)."""

from __future__ import annotations

import httpx
import pytest

from tests.integration.api.conftest import assert_problem, auth
from tests.integration.webhooks.conftest import QUICK, start

ROUTES = [
    ("GET", "/v1/settings/webhook", None),
    ("PUT", "/v1/settings/webhook", {"callbackUrl": "https://backend.example.com/hooks"}),
    ("POST", "/v1/settings/webhook/rotate-secret", None),
]


@pytest.mark.parametrize(("method", "path", "body"), ROUTES)
async def test_only_admins_may_see_or_change_them(client: httpx.AsyncClient, method: str, path: str, body) -> None:
    for user in ("user_member", "user_viewer"):
        response = await client.request(method, path, json=body, headers=auth(user))
        assert_problem(response, 403)
    assert_problem(await client.request(method, path, json=body), 401)
    # A token for an organization the user does not belong to: 401, as for every endpoint.
    assert_problem(await client.request(method, path, json=body, headers=auth("user_admin", "org_globex")), 401)
    response = await client.request(method, path, json=body, headers=auth("user_admin"))
    assert response.status_code == 200, response.text


async def test_each_organization_has_its_own(client: httpx.AsyncClient, pool) -> None:
    acme = await client.put(
        "/v1/settings/webhook", json={"callbackUrl": "https://acme.example.com/hooks"}, headers=auth("user_admin")
    )
    assert acme.status_code == 200, acme.text
    globex = (await client.get("/v1/settings/webhook", headers=auth("user_globex"))).json()
    assert globex["callbackUrl"] is None
    assert globex["signingSecret"] != acme.json()["signingSecret"]
    # The same secret on every read; sealed at rest, never stored in plain text.
    again = (await client.get("/v1/settings/webhook", headers=auth("user_admin"))).json()
    assert again["signingSecret"] == acme.json()["signingSecret"]
    stored = await pool.fetchval("SELECT secret FROM organization_webhooks WHERE organization_id = 'org_acme'")
    assert stored.startswith("fernet:") and again["signingSecret"] not in stored


async def test_put_clears_and_audits_and_rotation_is_audited(client: httpx.AsyncClient, pool) -> None:
    first = (await client.get("/v1/settings/webhook", headers=auth("user_admin"))).json()
    assert first["previousSecretExpiresAt"] is None
    response = await client.put(
        "/v1/settings/webhook", json={"callbackUrl": "https://acme.example.com/hooks"}, headers=auth("user_admin")
    )
    assert response.json()["callbackUrl"] == "https://acme.example.com/hooks"
    response = await client.put("/v1/settings/webhook", json={"callbackUrl": None}, headers=auth("user_admin"))
    assert response.status_code == 200 and response.json()["callbackUrl"] is None
    rotated = (await client.post("/v1/settings/webhook/rotate-secret", headers=auth("user_admin"))).json()
    assert rotated["signingSecret"] != first["signingSecret"]
    assert rotated["previousSecretExpiresAt"] > rotated["secretRotatedAt"]
    actions = await pool.fetch(
        "SELECT action, user_id, details FROM audit_logs WHERE action LIKE 'webhook.%' ORDER BY id"
    )
    assert [(row["action"], row["user_id"]) for row in actions] == [
        ("webhook.settings_updated", "user_admin"),
        ("webhook.settings_updated", "user_admin"),
        ("webhook.secret_rotated", "user_admin"),
    ]
    assert all("secret" not in str(row["details"]).lower() for row in actions)


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({"callbackUrl": "ftp://example.com/x"}, "callbackUrl"),
        ({"callbackUrl": "https://user:pw@example.com/x"}, "callbackUrl"),
        ({"callbackUrl": "https://example.com/" + "a" * 2100}, "callbackUrl"),
        ({"callbackUrl": "http://169.254.169.254/latest"}, "callbackUrl"),
        ({"callbackUrl": "not a url"}, "callbackUrl"),
        ({"callbackUrl": 42}, "callbackUrl"),
        ({"callbackUrl": "https://example.com/\x00"}, "callbackUrl"),
        ({}, "callbackUrl"),
        ({"callbackUrl": None, "secret": "x"}, "secret"),
    ],
)
async def test_bad_settings_are_a_422(client: httpx.AsyncClient, body, loc: str) -> None:
    response = await client.put("/v1/settings/webhook", json=body, headers=auth("user_admin"))
    problem = assert_problem(response, 422)
    assert problem["errors"][0]["loc"] == loc, problem


@pytest.mark.parametrize(
    "url",
    ["ftp://example.com/x", "https://example.com/" + "a" * 2100, "http://169.254.169.254/", "", 7, ["https://x.io"]],
)
async def test_bad_callback_urls_at_creation_are_a_422(client: httpx.AsyncClient, url) -> None:
    response = await client.post(
        "/v1/jobs", json={"jobType": "test_work", "payload": QUICK, "callbackUrl": url}, headers=auth("user_admin")
    )
    problem = assert_problem(response, 422)
    assert problem["errors"][0]["loc"] == "callbackUrl", problem


async def test_deliveries_follow_the_jobs_isolation(client: httpx.AsyncClient) -> None:
    job_id = await start(client, QUICK, user="user_member", callbackUrl="https://backend.example.com/hooks")
    mine = await client.get(f"/v1/jobs/{job_id}/status", headers=auth("user_member"))
    assert mine.status_code == 200 and mine.json()["webhookDeliveries"] == []
    assert mine.json()["job"]["callbackUrl"] == "https://backend.example.com/hooks"
    for user in ("user_globex", "user_admin"):  # another organization; another user of it
        assert_problem(await client.get(f"/v1/jobs/{job_id}/status", headers=auth(user)), 404)
    # The list shows the callback URL too.
    listed = (await client.get("/v1/jobs", headers=auth("user_member"))).json()["jobs"]
    assert [job["callbackUrl"] for job in listed] == ["https://backend.example.com/hooks"]


async def test_the_console_shows_the_deliveries(client: httpx.AsyncClient, pool) -> None:
    job_id = await start(client, QUICK, user="user_member", callbackUrl="https://backend.example.com/hooks")
    plain = await start(client, QUICK, user="user_member")
    for ident in (job_id, plain):
        response = await client.post(f"/v1/jobs/{ident}/cancel", headers=auth("user_member"))
        assert response.status_code == 200, response.text
    detail = (await client.get(f"/v1/admin/jobs/{job_id}", headers=auth("user_admin"))).json()
    assert [(d["type"], d["state"], d["attempts"]) for d in detail["webhookDeliveries"]] == [
        ("job.cancelled", "pending", [])
    ]
    assert (await client.get(f"/v1/admin/jobs/{plain}", headers=auth("user_admin"))).json()["webhookDeliveries"] == []
    # Another organization's administrator: 404.
    assert_problem(await client.get(f"/v1/admin/jobs/{job_id}", headers=auth("user_globex")), 404)
