"""GET /v1/me, the demo sign-in endpoints and the page's static files, over HTTP against
the running service (no browser)."""

from __future__ import annotations

import httpx
import pytest

from jobrunner.auth.tokens import issue_token
from tests.conftest import JWT_SECRET
from tests.integration.web.conftest import LiveService

pytestmark = pytest.mark.slow

PROBLEM = "application/problem+json"


def test_me_names_the_caller_and_their_permissions(live_service: LiveService):
    with live_service.api("user_viewer") as viewer, live_service.api() as member:
        assert viewer.get("/v1/me").json() == {
            "userId": "user_viewer",
            "organizationId": "org_acme",
            "displayName": "Vera Viewer",
            "permissions": ["jobs.view_jobs"],
        }
        permissions = member.get("/v1/me").json()["permissions"]
        assert {"jobs.create_jobs", "jobs.cancel_jobs", "jobs.retry_jobs", "reports.export_reports"} <= set(permissions)


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "Bearer",
        "Basic dXNlcjpwdw==",
        "Bearer not-a-jwt",
        "Bearer " + issue_token("another-secret-that-is-long-enough-0123456789", "user_member", "org_acme"),
        "Bearer " + issue_token(JWT_SECRET, "user_member", "org_globex"),
        "Bearer " + issue_token(JWT_SECRET, "user_member", "org_acme", -10),
    ],
)
def test_me_refuses_who_it_cannot_name(live_service: LiveService, authorization: str | None):
    headers = {"Authorization": authorization} if authorization else {}
    answer = httpx.get(f"{live_service.url}/v1/me", headers=headers)
    assert answer.status_code == 401
    assert answer.headers["content-type"].startswith(PROBLEM)
    assert answer.headers["www-authenticate"].startswith("Bearer")


def test_demo_sign_in_issues_a_working_token(live_service: LiveService):
    users = httpx.get(f"{live_service.url}/v1/demo/users").json()["users"]
    assert {u["userId"] for u in users} == {"user_admin", "user_member", "user_viewer", "user_globex"}
    issued = httpx.post(f"{live_service.url}/v1/demo/token", json={"userId": "user_globex"}).json()
    assert issued["organizationId"] == "org_globex" and issued["tokenType"] == "Bearer"
    me = httpx.get(f"{live_service.url}/v1/me", headers={"Authorization": f"Bearer {issued['token']}"}).json()
    assert (me["userId"], me["organizationId"]) == ("user_globex", "org_globex")


@pytest.mark.parametrize("body", [{"userId": "user_nobody"}, {}, {"userId": 5}, {"userId": "user_admin", "x": 1}, [1]])
def test_demo_token_refuses_bad_input_with_a_problem(live_service: LiveService, body):
    answer = httpx.post(f"{live_service.url}/v1/demo/token", json=body)
    assert answer.status_code == 422
    assert answer.headers["content-type"].startswith(PROBLEM)
    assert answer.json()["errors"]


def test_the_page_and_only_its_own_files_are_served(live_service: LiveService):
    page = httpx.get(f"{live_service.url}/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "default-src 'self'" in page.headers["content-security-policy"]
    module = httpx.get(f"{live_service.url}/static/jobrunner-client.js")
    assert module.headers["content-type"].startswith("text/javascript")
    assert "export function createClient" in module.text
    for name in ("styles.css", "app.js"):
        assert httpx.get(f"{live_service.url}/static/{name}").status_code == 200
    for path in ("/static/nope.js", "/static/..%2Froutes.py", "/static/../routes.py", "/static/"):
        answer = httpx.get(f"{live_service.url}{path}")
        assert answer.status_code == 404, path
        assert answer.headers["content-type"].startswith(PROBLEM)
