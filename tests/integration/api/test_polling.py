"""Polling headers (ETag/304, Retry-After), the result presenter hook, health, metrics,
and the OpenAPI document."""

from __future__ import annotations

import datetime as dt

import pytest

from jobrunner.jobs import presenters
from tests.integration.api.conftest import assert_problem, auth, set_state, state_columns


async def test_etag_and_304(client, create_job, db):
    job_id = await create_job()
    url = f"/v1/jobs/{job_id}/status"
    first = await client.get(url, headers=auth("user_admin"))
    etag = first.headers["etag"]
    assert etag.startswith('W/"')

    same = await client.get(url, headers={**auth("user_admin"), "If-None-Match": etag})
    assert same.status_code == 304 and same.content == b""
    assert same.headers["etag"] == etag
    listed = await client.get(url, headers={**auth("user_admin"), "If-None-Match": f'"other", {etag}'})
    assert listed.status_code == 304

    await set_state(
        db, job_id, **state_columns("running"), updated_at=dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1)
    )
    changed = await client.get(url, headers={**auth("user_admin"), "If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["etag"] != etag
    assert changed.json()["job"]["status"] == "running"


async def test_304_still_needs_authorization(client, create_job):
    job_id = await create_job()
    etag = (await client.get(f"/v1/jobs/{job_id}/status", headers=auth("user_admin"))).headers["etag"]
    response = await client.get(f"/v1/jobs/{job_id}/status", headers={**auth("user_globex"), "If-None-Match": etag})
    assert_problem(response, 404)


@pytest.mark.parametrize(
    "status, age_seconds, expected",
    [
        ("queued", 0, "2"),
        ("queued", 30, "10"),
        ("running", 0, "5"),
        ("retrying", 30, "5"),
        ("succeeded", 30, None),
        ("failed", 30, None),
        ("cancelled", 0, None),
    ],
)
async def test_retry_after(client, create_job, db, status, age_seconds, expected):
    job_id = await create_job()
    created = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=age_seconds)
    await set_state(db, job_id, **state_columns(status), created_at=created)
    response = await client.get(f"/v1/jobs/{job_id}/status", headers=auth("user_admin"))
    assert response.headers.get("retry-after") == expected


async def test_result_presenter_runs_on_each_read(client, create_job, db):
    job_id = await create_job()
    await set_state(db, job_id, **state_columns("succeeded"))
    reads = []

    def presenter(result, row):
        reads.append(row["id"])
        return {**result, "downloadUrl": f"/signed/{row['id']}?n={len(reads)}"}

    presenters.register_result_presenter("export_report", presenter)
    try:
        first = (await client.get(f"/v1/jobs/{job_id}/status", headers=auth("user_admin"))).json()
        second = (await client.get(f"/v1/jobs/{job_id}/status", headers=auth("user_admin"))).json()
        listed = (await client.get("/v1/jobs", headers=auth("user_admin"))).json()
    finally:
        presenters._RESULT_PRESENTERS.pop("export_report", None)
    assert first["job"]["result"] == {"recordCount": 1, "downloadUrl": f"/signed/{job_id}?n=1"}
    assert second["job"]["result"]["downloadUrl"].endswith("n=2")
    assert listed["jobs"][0]["result"]["downloadUrl"].endswith("n=3")


async def test_healthz_and_metrics(client, app, create_job):
    response = await client.get("/healthz")
    assert (response.status_code, response.json()) == (200, {"status": "ok"})
    await client.get("/v1/jobs")
    job_id = await create_job()
    await client.get(f"/v1/jobs/{job_id}/status", headers=auth("user_admin"))
    app.state.settings = app.state.settings.model_copy(update={"metrics_token": "m" * 32})
    metrics = (await client.get("/metrics", headers={"Authorization": "Bearer " + "m" * 32})).text
    assert 'jobrunner_http_requests_total{method="GET",route="/v1/jobs",status="401"}' in metrics
    assert 'route="/v1/jobs/{job_id}/status",status="200"} 1.0' in metrics
    assert "jobrunner_http_request_duration_seconds_bucket" in metrics


async def test_healthz_503_before_startup(settings):
    import httpx

    from jobrunner.app import create_app

    app = create_app(settings, "postgresql://postgres@127.0.0.1:5432/x", "s")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        assert_problem(await client.get("/healthz"), 503)


async def test_openapi_is_truthful(client):
    document = (await client.get("/openapi.json")).json()
    assert document["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    paths = document["paths"]
    expected = {
        ("/v1/jobs", "post"): {"202", "401", "403", "404", "409", "413", "415", "422", "429", "503"},  # 404: a templateId or dependsOn job
        ("/v1/jobs", "get"): {"200", "401", "403", "422", "503"},
        ("/v1/jobs/{job_id}/status", "get"): {"200", "304", "401", "403", "404", "503"},
        ("/v1/jobs/{job_id}/cancel", "post"): {"200", "401", "403", "404", "409", "503"},
        ("/v1/jobs/{job_id}/retry", "post"): {"200", "401", "403", "404", "409", "503"},
    }
    for (path, method), statuses in expected.items():
        operation = paths[path][method]
        assert set(operation["responses"]) == statuses, (path, method)
        assert operation["security"] == [{"bearerAuth": []}]
        for status, response in operation["responses"].items():
            if status >= "400":
                assert list(response["content"]) == ["application/problem+json"]
    schemas = document["components"]["schemas"]
    assert "HTTPValidationError" not in schemas
    assert schemas["CreateJobRequest"]["examples"][0]["payload"]["reportType"] == "quotes"
    assert schemas["JobStatusResponse"]["examples"][0]["job"]["progress"] == 60
    body = paths["/v1/jobs"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    # A job type and its payload, or a template with overrides (docs/workflows.md).
    assert body == {
        "oneOf": [
            {"$ref": "#/components/schemas/CreateJobRequest"},
            {"$ref": "#/components/schemas/CreateJobFromTemplateRequest"},
        ]
    }
    assert (await client.get("/docs")).status_code == 200


async def test_database_gone_is_503_not_500(client, app, create_job):
    job_id = await create_job()
    await app.state.pool.close()
    for response in (
        await client.get(f"/v1/jobs/{job_id}/status", headers=auth("user_admin")),
        await client.get("/v1/jobs", headers=auth("user_admin")),
        await client.post(f"/v1/jobs/{job_id}/cancel", headers=auth("user_admin")),
        await client.get("/healthz"),
    ):
        assert_problem(response, 503)
