"""Issue 11, "Metrics", "Logs" and "Audit" on the API side: request ids on every answer and
in problem bodies, the API's /metrics (jobs created, the cluster-wide snapshot) read by
Prometheus's parser, one JSON log line per request from a real ``jobrunner serve``, and
audit rows for integration changes."""

from __future__ import annotations


import subprocess
import sys
import uuid
from pathlib import Path

import httpx
import pytest

from jobrunner.settings import Settings
from tests.conftest import JWT_SECRET
from tests.integration.api.conftest import EXPORT_BODY, assert_problem, auth, token_for
from tests.integration.observability.conftest import METRICS_TOKEN, json_lines, samples, value
from tests.support.jobs import insert_job
from tests.support.processes import REPO_ROOT, command_env, free_port, wait_until_healthy

SCRAPER = {"Authorization": f"Bearer {METRICS_TOKEN}"}


@pytest.fixture
def settings(tmp_path) -> Settings:
    return Settings(pool_min_size=1, pool_max_size=4, data_dir=tmp_path, metrics_token=METRICS_TOKEN)


async def test_every_answer_carries_a_request_id(client) -> None:
    ok = await client.get("/v1/jobs", headers=auth("user_member"))
    assert ok.status_code == 200
    generated = ok.headers["x-request-id"]
    assert len(generated) == 32 and int(generated, 16) >= 0
    again = await client.get("/v1/jobs", headers=auth("user_member"))
    assert again.headers["x-request-id"] != generated

    # A caller's own id comes back when it is short and plain; problems carry it in the body.
    mine = "checkout-7f3a:retry.2"
    missing = await client.get(f"/v1/jobs/{uuid.uuid4()}/status", headers={**auth("user_member"), "X-Request-Id": mine})
    body = assert_problem(missing, 404)
    assert missing.headers["x-request-id"] == mine and body["requestId"] == mine
    unauthenticated = await client.get("/v1/jobs", headers={"X-Request-Id": mine})
    assert assert_problem(unauthenticated, 401)["requestId"] == mine
    invalid = await client.post("/v1/jobs", headers={**auth("user_admin"), "X-Request-Id": mine}, json={})
    assert assert_problem(invalid, 422)["requestId"] == mine
    unknown = await client.get("/no/such/route", headers={"X-Request-Id": mine})
    assert assert_problem(unknown, 404)["requestId"] == mine

    # Anything else is replaced, never echoed: too long, or characters a log should not hold.
    for bad in ("x" * 129, "a b", "id\twith\ttabs", "<script>", "é"):
        answer = await client.get("/v1/jobs", headers={**auth("user_member"), "X-Request-Id": bad.encode()})
        assert answer.headers["x-request-id"] != bad and len(answer.headers["x-request-id"]) == 32


async def test_the_api_metrics_count_creations_and_show_the_cluster_snapshot(app, client, db) -> None:
    response = await client.get("/metrics", headers=SCRAPER)
    before = samples(response.text)
    for _ in range(2):
        created = await client.post("/v1/jobs", headers=auth("user_admin"), json=EXPORT_BODY)
        assert created.status_code == 202, created.text
    await insert_job(db, "export_report", {}, org="org_globex", user="user_globex")
    await app.state.metrics_snapshot.refresh(app.state.pool)  # what the lifespan's task does periodically
    after = samples((await client.get("/metrics", headers=SCRAPER)).text)

    created_before = value(before, "jobrunner_jobs_created_total", job_type="export_report")
    assert value(after, "jobrunner_jobs_created_total", job_type="export_report") == created_before + 2
    assert value(after, "jobrunner_jobs", state="queued", job_type="export_report") == 3
    assert value(after, "jobrunner_jobs_oldest_waiting_seconds", state="queued", job_type="export_report") >= 0
    assert value(after, "jobrunner_organization_backlog", organization="org_acme") == 2
    assert value(after, "jobrunner_organization_backlog", organization="org_globex") == 1
    assert value(after, "jobrunner_workers", state="alive") == 0
    assert value(after, "jobrunner_metrics_snapshot_timestamp_seconds") > 0
    # Bounded labels: no job id, user or path in any sample.
    text = (await client.get("/metrics", headers=SCRAPER)).text
    assert "user_admin" not in text and "/v1/jobs/" not in text.replace("/v1/jobs/{job_id}", "")


async def test_integration_changes_are_audited_without_their_secret(client, db) -> None:
    body = {"targetUrl": "https://hooks.example.com/jobrunner", "secret": "s3cret-value-for-the-receiver"}
    created = await client.put("/v1/integrations/notifications", headers=auth("user_admin"), json=body)
    assert created.status_code == 201, created.text
    body["targetUrl"] = "https://hooks.example.com/other"
    replaced = await client.put("/v1/integrations/notifications", headers=auth("user_admin"), json=body)
    assert replaced.status_code == 200, replaced.text
    rows = await db.fetch(
        "SELECT user_id, actor, action, details::text AS details FROM audit_logs"
        " WHERE action LIKE 'integration.%' ORDER BY id"
    )
    assert [(r["user_id"], r["actor"], r["action"]) for r in rows] == [
        ("user_admin", "user", "integration.created"),
        ("user_admin", "user", "integration.updated"),
    ]
    assert "hooks.example.com/other" in rows[1]["details"]
    assert all("s3cret" not in r["details"] for r in rows)


async def test_quota_changes_are_audited_whoever_makes_them(db) -> None:
    """Quotas are edited in organization_limits (no API): a trigger audits every change."""
    await db.execute("INSERT INTO organization_limits (organization_id, max_queued_jobs) VALUES ('org_acme', 50)")
    await db.execute("UPDATE organization_limits SET max_queued_jobs = 10 WHERE organization_id = 'org_acme'")
    await db.execute("DELETE FROM organization_limits WHERE organization_id = 'org_acme'")
    rows = await db.fetch(
        "SELECT organization_id, actor, details FROM audit_logs"
        " WHERE action = 'organization.limits_changed' ORDER BY id"
    )
    changes = [(r["organization_id"], r["actor"], r["details"]) for r in rows]
    assert [(org, actor, d["operation"]) for org, actor, d in changes] == [
        ("org_acme", "system", "insert"),
        ("org_acme", "system", "update"),
        ("org_acme", "system", "delete"),
    ]
    assert changes[0][2]["before"] is None and changes[0][2]["after"]["max_queued_jobs"] == 50
    assert changes[1][2]["before"]["max_queued_jobs"] == 50 and changes[1][2]["after"]["max_queued_jobs"] == 10
    assert changes[2][2]["after"] is None


@pytest.mark.slow
def test_a_served_api_writes_one_json_line_per_request_and_no_secret(database_url: str, tmp_path: Path) -> None:
    port = free_port()
    log_path = tmp_path / "serve.log"
    env = command_env(
        DATABASE_URL=database_url,
        JOBRUNNER_JWT_SECRET=JWT_SECRET,
        JOBRUNNER_DATA_DIR=str(tmp_path),
        JOBRUNNER_DEMO_MODE="false",
    )
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "jobrunner.cli", "serve", "--no-worker", "--port", str(port)],
            env=env,
            cwd=REPO_ROOT,
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
    base = f"http://127.0.0.1:{port}"
    token = token_for("user_member")
    try:
        wait_until_healthy(process, base, log_path.read_text)
        missing = uuid.uuid4()
        answer = httpx.get(
            f"{base}/v1/jobs/{missing}/status?token=query-secret",
            headers={"Authorization": f"Bearer {token}", "X-Request-Id": "from-the-test-1"},
        )
        assert answer.status_code == 404
        listed = httpx.get(f"{base}/v1/jobs", headers={"Authorization": f"Bearer {token}"})
        assert listed.status_code == 200
    finally:
        process.terminate()
        process.wait(30)
    text = log_path.read_text()
    assert token not in text and "query-secret" not in text and str(missing) not in text
    requests = [line for line in json_lines(log_path) if line.get("logger") == "jobrunner.request"]
    status_line = next(line for line in requests if line["request_id"] == "from-the-test-1")
    assert status_line == {
        **status_line,
        "event": "request",
        "level": "info",
        "method": "GET",
        "route": "/v1/jobs/{job_id}/status",
        "status": 404,
        "user": "user_member",
        "organization": "org_acme",
    }
    assert isinstance(status_line["duration_ms"], float) and "timestamp" in status_line
    list_line = next(line for line in requests if line["route"] == "/v1/jobs")
    assert list_line["status"] == 200 and len(list_line["request_id"]) == 32
    health = [line for line in requests if line["route"] == "/healthz"]
    assert health and health[-1]["user"] is None
