"""Invalid input is a 4xx problem, one `errors` entry per field on 422; never a 500."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.integration.api.conftest import EXPORT_BODY, assert_problem, auth

PAYLOAD = EXPORT_BODY["payload"]

INVALID_BODIES = {
    "unknown job type": ({**EXPORT_BODY, "jobType": "bake_cake"}, ["jobType"]),
    "job type not a string": ({**EXPORT_BODY, "jobType": ["export_report"]}, ["jobType"]),
    "priority as string": ({**EXPORT_BODY, "priority": "5"}, ["priority"]),
    "priority as bool": ({**EXPORT_BODY, "priority": True}, ["priority"]),
    "priority as float": ({**EXPORT_BODY, "priority": 5.0}, ["priority"]),
    "priority too high": ({**EXPORT_BODY, "priority": 11}, ["priority"]),
    "priority negative": ({**EXPORT_BODY, "priority": -1}, ["priority"]),
    "maxRetries too high": ({**EXPORT_BODY, "maxRetries": 11}, ["maxRetries"]),
    "unknown top-level field": ({**EXPORT_BODY, "colour": "red"}, ["colour"]),
    "payload missing": ({"jobType": "export_report"}, ["payload"]),
    "payload not an object": ({**EXPORT_BODY, "payload": [1, 2]}, ["payload"]),
    "scheduledAt in the past": ({**EXPORT_BODY, "scheduledAt": "2020-01-01T00:00:00Z"}, ["scheduledAt"]),
    "scheduledAt as number": ({**EXPORT_BODY, "scheduledAt": 4102444800}, ["scheduledAt"]),
    "scheduledAt garbage": ({**EXPORT_BODY, "scheduledAt": "tomorrow"}, ["scheduledAt"]),
    "two bad fields": ({**EXPORT_BODY, "priority": "x", "maxRetries": -3}, ["priority", "maxRetries"]),
    "format not allowed": ({**EXPORT_BODY, "payload": {**PAYLOAD, "format": "pdf"}}, ["payload.format"]),
    "reportType missing": ({**EXPORT_BODY, "payload": {"format": "csv"}}, ["payload.reportType"]),
    "reportType as number": ({**EXPORT_BODY, "payload": {**PAYLOAD, "reportType": 5}}, ["payload.reportType"]),
    "unknown payload field": ({**EXPORT_BODY, "payload": {**PAYLOAD, "extra": 1}}, ["payload.extra"]),
    "bad dateFrom": (
        {**EXPORT_BODY, "payload": {**PAYLOAD, "filters": {"dateFrom": "01/02/2024"}}},
        ["payload.filters.dateFrom"],
    ),
    "dateFrom as number": (
        {**EXPORT_BODY, "payload": {**PAYLOAD, "filters": {"dateFrom": 20240101}}},
        ["payload.filters.dateFrom"],
    ),
    "two bad payload fields": (
        {**EXPORT_BODY, "payload": {**PAYLOAD, "format": "pdf", "filters": {"dateTo": "x"}}},
        ["payload.format", "payload.filters.dateTo"],
    ),
    "monetary key": ({**EXPORT_BODY, "payload": {**PAYLOAD, "totalAmount": 12.5}}, ["payload"]),
    "body not an object": ([1, 2, 3], ["body"]),
}


@pytest.mark.parametrize("case", sorted(INVALID_BODIES))
async def test_invalid_create_bodies(client, db, case):
    body, locs = INVALID_BODIES[case]
    response = await client.post("/v1/jobs", json=body, headers=auth("user_admin"))
    problem = assert_problem(response, 422)
    assert sorted(error["loc"] for error in problem["errors"]) == sorted(locs)
    assert all(error["message"] for error in problem["errors"])
    assert await db.fetchval("SELECT count(*) FROM jobs") == 0
    assert await db.fetchval("SELECT count(*) FROM audit_logs") == 0


async def test_monetary_message_names_the_key(client):
    body = {**EXPORT_BODY, "payload": {**PAYLOAD, "filters": {"status": "sent", "price": 1}}}
    problem = assert_problem(await client.post("/v1/jobs", json=body, headers=auth("user_admin")), 422)
    assert "filters.price" in problem["errors"][0]["message"]


@pytest.mark.parametrize("raw", [b"{", b"", b"null", b"\xff\xfe", b'{"jobType": NaN}', b"[]" * 10])
async def test_malformed_json_is_422(client, raw):
    headers = {**auth("user_admin"), "Content-Type": "application/json"}
    response = await client.post("/v1/jobs", content=raw, headers=headers)
    assert_problem(response, 422)


async def test_non_json_content_type_is_415(client):
    headers = {**auth("user_admin"), "Content-Type": "text/plain"}
    assert_problem(await client.post("/v1/jobs", content=b"{}", headers=headers), 415)
    headers["Content-Type"] = "application/x-www-form-urlencoded"
    assert_problem(await client.post("/v1/jobs", content=b"a=b", headers=headers), 415)


async def test_unauthenticated_malformed_body_is_401_first(client):
    response = await client.post("/v1/jobs", content=b"{", headers={"Content-Type": "application/json"})
    assert_problem(response, 401)


async def test_body_over_limit_is_413(client, settings, db):
    big = {**EXPORT_BODY, "payload": {**PAYLOAD, "reportType": "x" * settings.max_body_bytes}}
    assert_problem(await client.post("/v1/jobs", json=big, headers=auth("user_admin")), 413)

    async def chunks():
        for _ in range(settings.max_body_bytes // 1024 + 2):
            yield b" " * 1024

    # No Content-Length (chunked): refused while reading.
    headers = {**auth("user_admin"), "Content-Type": "application/json"}
    assert_problem(await client.post("/v1/jobs", content=chunks(), headers=headers), 413)
    assert await db.fetchval("SELECT count(*) FROM jobs") == 0


@pytest.mark.parametrize(
    "query, loc",
    [
        ("page=0", "page"),
        ("page=abc", "page"),
        ("page=100001", "page"),
        ("pageSize=0", "pageSize"),
        ("pageSize=101", "pageSize"),
        ("pageSize=1e3", "pageSize"),
        ("status=done", "status"),
        ("jobType=" + "x" * 51, "jobType"),
    ],
)
async def test_invalid_list_queries(client, query, loc):
    problem = assert_problem(await client.get(f"/v1/jobs?{query}", headers=auth("user_admin")), 422)
    assert [error["loc"] for error in problem["errors"]] == [loc]


@pytest.mark.parametrize(
    "job_id", ["not-a-uuid", "1", "%00", "x" * 300, "550e8400-e29b-41d4-a716-44665544000g", "..%2F..%2Fetc"]
)
async def test_non_uuid_ids_are_404(client, job_id):
    for method, suffix in [("GET", "status"), ("POST", "cancel"), ("POST", "retry")]:
        response = await client.request(method, f"/v1/jobs/{job_id}/{suffix}", headers=auth("user_admin"))
        assert_problem(response, 404)


async def test_unknown_route_and_wrong_method(client):
    assert_problem(await client.get("/v1/nothing-here"), 404)
    response = await client.delete("/v1/jobs")
    assert_problem(response, 405)
    assert response.headers["allow"]


async def test_naive_scheduled_at_is_utc(client):
    when = (dt.datetime.now(dt.UTC) + dt.timedelta(days=1)).replace(tzinfo=None, microsecond=0)
    body = {**EXPORT_BODY, "scheduledAt": when.isoformat()}
    job_id = (await client.post("/v1/jobs", json=body, headers=auth("user_admin"))).json()["jobId"]
    job = (await client.get(f"/v1/jobs/{job_id}/status", headers=auth("user_admin"))).json()["job"]
    assert job["scheduledAt"] == when.strftime("%Y-%m-%dT%H:%M:%S.000Z")


async def test_nul_character_is_refused_not_500(client, db):
    body = {**EXPORT_BODY, "payload": {**PAYLOAD, "reportType": "a\u0000b"}}
    assert_problem(await client.post("/v1/jobs", json=body, headers=auth("user_admin")), 422)
    assert await db.fetchval("SELECT count(*) FROM audit_logs") == 0
