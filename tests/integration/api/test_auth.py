"""Every token failure is a 401 with WWW-Authenticate; a missing permission is a 403;
permissions come from the database on each request."""

from __future__ import annotations

import base64
import time
import uuid

import jwt
import orjson
import pytest

from tests.conftest import JWT_SECRET
from tests.integration.api.conftest import EXPORT_BODY, assert_problem, auth, token_for


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(data)).rstrip(b"=").decode()


def _token(claims: dict, key: str = JWT_SECRET) -> str:
    return jwt.encode(claims, key, algorithm="HS256")


NOW = int(time.time())
GOOD = {"sub": "user_admin", "org": "org_acme", "exp": NOW + 3600}

BAD_HEADERS = {
    "missing": {},
    "empty bearer": {"Authorization": "Bearer "},
    "wrong scheme": {"Authorization": f"Basic {token_for('user_admin')}"},
    "no scheme": {"Authorization": token_for("user_admin")},
    "malformed": {"Authorization": "Bearer not.a.jwt"},
    "garbage": {"Authorization": "Bearer \u00e9\u00e9".encode()},
    "huge": {"Authorization": "Bearer " + "a" * 10_000},
    "wrong key": {"Authorization": "Bearer " + _token(GOOD, key="another-secret-of-sufficient-length-000000")},
    "alg none": {"Authorization": "Bearer " + _b64({"alg": "none", "typ": "JWT"}) + "." + _b64(GOOD) + "."},
    "expired": {"Authorization": "Bearer " + _token({**GOOD, "exp": NOW - 10})},
    "no exp": {"Authorization": "Bearer " + _token({"sub": "user_admin", "org": "org_acme"})},
    "no sub": {"Authorization": "Bearer " + _token({"org": "org_acme", "exp": NOW + 3600})},
    "no org": {"Authorization": "Bearer " + _token({"sub": "user_admin", "exp": NOW + 3600})},
    "non-string sub": {"Authorization": "Bearer " + _token({**GOOD, "sub": 42})},
    "unknown user": {"Authorization": "Bearer " + _token({**GOOD, "sub": "user_nobody"})},
    "not in org": {"Authorization": "Bearer " + _token({**GOOD, "org": "org_globex"})},
    "unknown org": {"Authorization": "Bearer " + _token({**GOOD, "org": "org_nowhere"})},
}


def _endpoints(job_id: str) -> list[tuple[str, str]]:
    return [
        ("POST", "/v1/jobs"),
        ("GET", "/v1/jobs"),
        ("GET", f"/v1/jobs/{job_id}/status"),
        ("POST", f"/v1/jobs/{job_id}/cancel"),
        ("POST", f"/v1/jobs/{job_id}/retry"),
    ]


@pytest.mark.parametrize("case", sorted(BAD_HEADERS))
async def test_token_failures_are_401_on_every_endpoint(client, create_job, case):
    job_id = await create_job()
    for method, url in _endpoints(job_id):
        kwargs = {"json": EXPORT_BODY} if url == "/v1/jobs" and method == "POST" else {}
        response = await client.request(method, url, headers=BAD_HEADERS[case], **kwargs)
        assert_problem(response, 401)
        assert response.headers["www-authenticate"].startswith("Bearer")


ROLE_MATRIX = {
    # user: (create, view, cancel, retry)
    "user_admin": (True, True, True, True),
    "user_member": (True, True, True, True),
    "user_viewer": (False, True, False, False),
}


@pytest.mark.parametrize("user", sorted(ROLE_MATRIX))
async def test_permissions_per_role(client, db, user):
    may_create, may_view, may_cancel, may_retry = ROLE_MATRIX[user]
    response = await client.post("/v1/jobs", json=EXPORT_BODY, headers=auth(user))
    if may_create:
        assert response.status_code == 202
        job_id = response.json()["jobId"]
    else:
        assert_problem(response, 403)
        job_id = str(
            await db.fetchval(
                "INSERT INTO jobs (organization_id, user_id, job_type, status, completed_at) "
                "VALUES ('org_acme', $1, 'export_report', 'failed', now()) RETURNING id",
                user,
            )
        )
    status = await client.get(f"/v1/jobs/{job_id}/status", headers=auth(user))
    assert status.status_code == (200 if may_view else 403)
    listing = await client.get("/v1/jobs", headers=auth(user))
    assert listing.status_code == (200 if may_view else 403)
    retry = await client.post(f"/v1/jobs/{job_id}/retry", headers=auth(user))
    # A queued job cannot be retried: 409 when permitted, 403 otherwise.
    assert retry.status_code == ((409 if may_create else 200) if may_retry else 403)
    cancel = await client.post(f"/v1/jobs/{job_id}/cancel", headers=auth(user))
    assert cancel.status_code == (200 if may_cancel else 403)


async def test_job_type_permission_is_needed_too(client, db):
    await db.execute(
        "DELETE FROM role_permissions WHERE role_name = 'member' AND permission_name = 'reports.export_reports'"
    )
    response = await client.post("/v1/jobs", json=EXPORT_BODY, headers=auth("user_member"))
    body = assert_problem(response, 403)
    assert "reports.export_reports" in body["detail"]


async def test_revoking_a_role_takes_effect_at_once(client, create_job, db):
    job_id = await create_job("user_member")
    assert (await client.get(f"/v1/jobs/{job_id}/status", headers=auth("user_member"))).status_code == 200
    await db.execute("DELETE FROM user_roles WHERE user_id = 'user_member'")
    assert_problem(await client.get(f"/v1/jobs/{job_id}/status", headers=auth("user_member")), 403)
    await db.execute("DELETE FROM organization_members WHERE user_id = 'user_member'")
    assert_problem(await client.get(f"/v1/jobs/{job_id}/status", headers=auth("user_member")), 401)


async def test_viewer_gets_403_not_404_for_missing_job(client):
    response = await client.post(f"/v1/jobs/{uuid.uuid4()}/cancel", headers=auth("user_viewer"))
    assert_problem(response, 403)
