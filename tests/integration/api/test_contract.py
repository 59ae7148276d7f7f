"""The product document's transcripts, replayed through the HTTP API field by field
(the worker's state changes are written directly to the database). Every answer is also
checked against the service's OpenAPI document (``tests/contract/spec.py``)."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from jobrunner.jobs.models import JobOut
from tests.contract.spec import check_response
from tests.integration.api.conftest import EXPORT_BODY, assert_problem, auth, set_state

# The job's keys: the one description of its shape (jobs/models.py), which presenters write.
JOB_KEYS = set(JobOut.model_fields)
ISO_MS_Z = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")


@pytest.fixture
async def client(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    """The API, every answer checked against its own OpenAPI document."""
    document = app.openapi()

    async def documented(response: httpx.Response) -> None:
        await response.aread()
        check_response(document, response)

    transport = httpx.ASGITransport(app=app)
    hooks = {"response": [documented]}
    async with httpx.AsyncClient(transport=transport, base_url="http://test", event_hooks=hooks) as client:
        yield client


async def test_creation_and_polling_flow(client, db):
    response = await client.post("/v1/jobs", json=EXPORT_BODY, headers=auth("user_admin"))
    assert response.status_code == 202
    body = response.json()
    assert set(body) == {"jobId", "message"}
    assert body["message"] == "Job created successfully"
    job_id = body["jobId"]
    assert str(uuid.UUID(job_id)) == job_id
    assert response.headers["location"] == f"/v1/jobs/{job_id}/status"

    # 2. queued
    status = await client.get(f"/v1/jobs/{job_id}/status", headers=auth("user_admin"))
    assert status.status_code == 200
    answer = status.json()
    assert set(answer) == {"job", "progress", "canCancel", "canRetry"}
    job = answer["job"]
    assert set(job) == JOB_KEYS
    assert job == {
        **job,
        "id": job_id,
        "organizationId": "org_acme",
        "userId": "user_admin",
        "jobType": "export_report",
        "status": "queued",
        "priority": 5,
        "retryCount": 0,
        "maxRetries": 3,
        "payload": EXPORT_BODY["payload"],
        "result": None,
        "errorMessage": None,
        "progress": 0,
        "totalSteps": 6,
        "currentStep": 0,
        "stepLabel": None,
        "startedAt": None,
        "completedAt": None,
        "scheduledAt": None,
        "omitted": [],
    }
    assert ISO_MS_Z.match(job["createdAt"]) and ISO_MS_Z.match(job["updatedAt"])
    assert (answer["progress"], answer["canCancel"], answer["canRetry"]) == (0, True, False)

    # 3. running
    started = dt.datetime(2024, 1, 30, 10, 30, tzinfo=dt.UTC)
    await set_state(db, job_id, status="running", locked_by="w1", started_at=started, progress=40, current_step=2)
    answer = (await client.get(f"/v1/jobs/{job_id}/status", headers=auth("user_admin"))).json()
    assert answer["job"]["status"] == "running"
    assert answer["job"]["progress"] == 40 and answer["job"]["currentStep"] == 2
    assert answer["job"]["startedAt"] == "2024-01-30T10:30:00.000Z"
    assert (answer["progress"], answer["canCancel"], answer["canRetry"]) == (40, True, False)

    # 4. succeeded
    result = {
        "downloadUrl": "/api/v1/exports/quotes_2024-01-30.csv",
        "fileSize": 245760,
        "recordCount": 1250,
        "generatedAt": "2024-01-30T10:30:45.000Z",
        "reportType": "quotes",
        "format": "csv",
    }
    completed = dt.datetime(2024, 1, 30, 10, 30, 45, 123456, tzinfo=dt.UTC)
    await set_state(db, job_id, status="succeeded", completed_at=completed, progress=100, current_step=6, result=result)
    answer = (await client.get(f"/v1/jobs/{job_id}/status", headers=auth("user_admin"))).json()
    assert answer["job"]["status"] == "succeeded"
    assert answer["job"]["progress"] == 100 and answer["job"]["currentStep"] == 6
    assert answer["job"]["completedAt"] == "2024-01-30T10:30:45.123Z"
    assert answer["job"]["result"] == result
    assert (answer["progress"], answer["canCancel"], answer["canRetry"]) == (100, False, False)


async def test_failure_and_retry_flow(client, db):
    body = {"jobType": "export_report", "payload": {"reportType": "invalid_report", "format": "csv"}}
    response = await client.post("/v1/jobs", json=body, headers=auth("user_admin"))
    assert response.status_code == 202
    job_id = response.json()["jobId"]

    await set_state(
        db,
        job_id,
        status="failed",
        completed_at=dt.datetime.now(dt.UTC),
        progress=20,
        current_step=1,
        error_message="Invalid export job payload",
        started_at=dt.datetime.now(dt.UTC),
    )
    answer = (await client.get(f"/v1/jobs/{job_id}/status", headers=auth("user_admin"))).json()
    job = answer["job"]
    assert (job["status"], job["progress"], job["currentStep"]) == ("failed", 20, 1)
    assert job["errorMessage"] == "Invalid export job payload"
    assert (job["retryCount"], job["maxRetries"]) == (0, 3)
    assert (answer["progress"], answer["canCancel"], answer["canRetry"]) == (20, False, True)

    retry = await client.post(f"/v1/jobs/{job_id}/retry", headers=auth("user_admin"))
    assert retry.status_code == 200
    assert retry.json() == {"message": "Job retry initiated successfully"}

    answer = (await client.get(f"/v1/jobs/{job_id}/status", headers=auth("user_admin"))).json()
    job = answer["job"]
    assert (job["status"], job["progress"], job["currentStep"]) == ("queued", 0, 0)
    assert (job["retryCount"], job["maxRetries"]) == (1, 3)
    assert job["errorMessage"] is None and job["result"] is None
    assert job["startedAt"] is None and job["completedAt"] is None and job["scheduledAt"] is None
    assert (answer["progress"], answer["canCancel"], answer["canRetry"]) == (0, True, False)
    locked_by = await db.fetchval("SELECT locked_by FROM jobs WHERE id = $1", uuid.UUID(job_id))
    assert locked_by is None


async def test_cancel_answer(client, create_job, db):
    job_id = await create_job()
    response = await client.post(f"/v1/jobs/{job_id}/cancel", headers=auth("user_admin"))
    assert response.status_code == 200
    assert response.json() == {"message": "Job cancelled successfully"}
    row = await db.fetchrow("SELECT status, cancelled_at, completed_at FROM jobs WHERE id = $1", uuid.UUID(job_id))
    assert row["status"] == "cancelled" and row["cancelled_at"] is not None and row["completed_at"] is not None


async def test_list_shape_newest_first_and_filters(client, create_job, db):
    ids = [await create_job() for _ in range(3)]
    await set_state(db, ids[0], **{"status": "running", "locked_by": "w1"})
    response = await client.get("/v1/jobs", headers=auth("user_admin"))
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"jobs", "total", "page", "pageSize", "totalPages"}
    assert [job["id"] for job in body["jobs"]] == ids[::-1]
    assert (body["total"], body["page"], body["pageSize"], body["totalPages"]) == (3, 1, 25, 1)
    assert all(set(job) == JOB_KEYS for job in body["jobs"])

    running = (await client.get("/v1/jobs?status=running&jobType=export_report", headers=auth("user_admin"))).json()
    assert [job["id"] for job in running["jobs"]] == [ids[0]] and running["total"] == 1
    none = (await client.get("/v1/jobs?jobType=sync", headers=auth("user_admin"))).json()
    assert none == {"jobs": [], "total": 0, "page": 1, "pageSize": 25, "totalPages": 0}

    page2 = (await client.get("/v1/jobs?page=2&pageSize=2", headers=auth("user_admin"))).json()
    assert [job["id"] for job in page2["jobs"]] == [ids[0]]
    assert (page2["total"], page2["page"], page2["pageSize"], page2["totalPages"]) == (3, 2, 2, 2)


async def test_create_defaults_and_scheduled_at(client, db):
    when = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)).replace(microsecond=250000)
    body = {**EXPORT_BODY, "scheduledAt": when.isoformat().replace("+00:00", "Z")}
    del body["priority"]
    job_id = (await client.post("/v1/jobs", json=body, headers=auth("user_member"))).json()["jobId"]
    job = (await client.get(f"/v1/jobs/{job_id}/status", headers=auth("user_member"))).json()["job"]
    assert (job["priority"], job["maxRetries"], job["userId"]) == (0, 3, "user_member")
    assert job["scheduledAt"] == when.strftime("%Y-%m-%dT%H:%M:%S.250Z")


async def test_problems_and_304_are_documented(client, create_job):
    """The answers the flows above do not reach, checked against the document by the client."""
    job_id = await create_job()
    status = await client.get(f"/v1/jobs/{job_id}/status", headers=auth("user_admin"))
    again = await client.get(
        f"/v1/jobs/{job_id}/status", headers={**auth("user_admin"), "If-None-Match": status.headers["etag"]}
    )
    assert again.status_code == 304
    body = assert_problem(
        await client.post("/v1/jobs", json={**EXPORT_BODY, "priority": 99}, headers=auth("user_admin")), 422
    )
    assert body["errors"][0]["loc"] == "priority"
    assert "errors" not in assert_problem(await client.get("/v1/jobs"), 401)
    assert "errors" not in assert_problem(
        await client.post(f"/v1/jobs/{job_id}/retry", headers=auth("user_admin")), 409
    )
    assert_problem(await client.get(f"/v1/jobs/{uuid.uuid4()}/status", headers=auth("user_admin")), 404)
    me = await client.get("/v1/me", headers=auth("user_viewer"))
    assert me.status_code == 200 and me.json()["userId"] == "user_viewer"
