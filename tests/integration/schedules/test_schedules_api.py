"""/v1/schedules: create, read, list, change, pause and resume, delete; validation as
POST /v1/jobs validates; every change audited."""

from __future__ import annotations

import datetime as dt
import uuid
import zoneinfo

import asyncpg
import httpx
import pytest
from croniter import croniter

from tests.integration.schedules.conftest import EXPORT_PAYLOAD, SCHEDULE_BODY, assert_problem, auth

ISO_MS_Z = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$"


def parse(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


async def test_create_answers_201_with_the_schedule_and_its_next_run(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    before = dt.datetime.now(dt.UTC)
    response = await client.post("/v1/schedules", json=SCHEDULE_BODY, headers=auth("user_admin"))
    assert response.status_code == 201, response.text
    body = response.json()
    assert response.headers["location"] == f"/v1/schedules/{body['id']}"
    uuid.UUID(body["id"])
    assert body == {
        **body,
        "organizationId": "org_acme",
        "userId": "user_admin",
        "cron": "0 6 * * 1",
        "timezone": "Europe/Paris",
        "jobType": "export_report",
        "payload": EXPORT_PAYLOAD,
        "priority": 3,
        "maxRetries": 3,
        "paused": False,
        "misfirePolicy": "run_once",
        "overlap": "allow",
        "lastRunAt": None,
        "lastJobId": None,
        "lastError": None,
        "lastErrorAt": None,
    }
    # Monday 06:00 in Paris, whatever the offset that day.
    paris = zoneinfo.ZoneInfo("Europe/Paris")
    expected = croniter("0 6 * * 1", before.astimezone(paris)).get_next(dt.datetime)
    next_run = parse(body["nextRunAt"])
    assert next_run == expected.astimezone(dt.UTC)
    assert next_run.astimezone(paris).weekday() == 0 and next_run.astimezone(paris).hour == 6
    audit = await db.fetchrow("SELECT * FROM audit_logs WHERE action = 'schedule.created'")
    assert audit["user_id"] == "user_admin" and audit["organization_id"] == "org_acme"
    assert audit["details"]["scheduleId"] == body["id"] and audit["details"]["cron"] == "0 6 * * 1"


async def test_get_and_list_show_the_organizations_schedules(client: httpx.AsyncClient, create_schedule) -> None:
    first = await create_schedule()
    second = await create_schedule(cron="*/15 * * * *", timezone="UTC")
    got = await client.get(f"/v1/schedules/{first['id']}", headers=auth("user_admin"))
    assert got.status_code == 200 and got.json() == first
    listed = (await client.get("/v1/schedules", headers=auth("user_admin"))).json()
    assert [s["id"] for s in listed["schedules"]] == [second["id"], first["id"]]
    assert (listed["total"], listed["page"], listed["pageSize"], listed["totalPages"]) == (2, 1, 25, 1)
    paged = (await client.get("/v1/schedules", params={"pageSize": 1, "page": 2}, headers=auth("user_admin"))).json()
    assert [s["id"] for s in paged["schedules"]] == [first["id"]] and paged["totalPages"] == 2


async def test_pause_and_resume_with_patch(client: httpx.AsyncClient, create_schedule, db: asyncpg.Connection) -> None:
    schedule = await create_schedule()
    path = f"/v1/schedules/{schedule['id']}"
    paused = await client.patch(path, json={"paused": True}, headers=auth("user_admin"))
    assert paused.status_code == 200, paused.text
    assert paused.json()["paused"] is True and paused.json()["nextRunAt"] is None
    resumed = (await client.patch(path, json={"paused": False}, headers=auth("user_admin"))).json()
    assert resumed["paused"] is False and resumed["nextRunAt"] == schedule["nextRunAt"]
    actions = await db.fetch("SELECT action FROM audit_logs WHERE action LIKE 'schedule.%' ORDER BY id")
    assert [a["action"] for a in actions] == ["schedule.created", "schedule.paused", "schedule.resumed"]


async def test_patch_changes_only_what_is_given_and_recomputes_the_next_run(
    client: httpx.AsyncClient, create_schedule, db: asyncpg.Connection
) -> None:
    schedule = await create_schedule()
    path = f"/v1/schedules/{schedule['id']}"
    changed = await client.patch(path, json={"priority": 9, "overlap": "skip"}, headers=auth("user_admin"))
    assert changed.status_code == 200, changed.text
    body = changed.json()
    assert (body["priority"], body["overlap"], body["nextRunAt"], body["cron"]) == (
        9,
        "skip",
        schedule["nextRunAt"],
        "0 6 * * 1",
    )
    body = (
        await client.patch(path, json={"cron": "30 23 * * *", "timezone": "UTC"}, headers=auth("user_admin"))
    ).json()
    next_run = parse(body["nextRunAt"])
    assert (next_run.hour, next_run.minute) == (23, 30) and next_run > dt.datetime.now(dt.UTC)
    details = await db.fetchval("SELECT details FROM audit_logs WHERE action = 'schedule.updated' ORDER BY id LIMIT 1")
    assert details["changes"] == {"priority": 9, "overlap_policy": "skip"}
    payload = {**EXPORT_PAYLOAD, "format": "xlsx"}
    assert (await client.patch(path, json={"payload": payload}, headers=auth("user_admin"))).json()[
        "payload"
    ] == payload


async def test_delete_answers_204_then_404_and_is_audited(
    client: httpx.AsyncClient, create_schedule, db: asyncpg.Connection
) -> None:
    schedule = await create_schedule()
    path = f"/v1/schedules/{schedule['id']}"
    deleted = await client.delete(path, headers=auth("user_admin"))
    assert deleted.status_code == 204 and deleted.content == b""
    assert_problem(await client.get(path, headers=auth("user_admin")), 404)
    assert_problem(await client.delete(path, headers=auth("user_admin")), 404)
    assert_problem(await client.patch(path, json={"paused": True}, headers=auth("user_admin")), 404)
    assert await db.fetchval("SELECT count(*) FROM audit_logs WHERE action = 'schedule.deleted'") == 1


@pytest.mark.parametrize(
    ("change", "loc"),
    [
        ({"cron": "every monday"}, "cron"),
        ({"cron": "61 * * * *"}, "cron"),
        ({"cron": "* * * *"}, "cron"),
        ({"cron": "*/5 * * * * *"}, "cron"),  # seconds: off by default
        ({"cron": "0 0 30 2 *"}, "cron"),  # February 30th never comes
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"timezone": "../../etc/passwd"}, "timezone"),
        ({"jobType": "no_such_type"}, "jobType"),
        ({"payload": {**EXPORT_PAYLOAD, "format": "pdf"}}, "payload.format"),
        ({"payload": {**EXPORT_PAYLOAD, "amount": 12}}, "payload"),
        ({"priority": 11}, "priority"),
        ({"maxRetries": -1}, "maxRetries"),
        ({"misfirePolicy": "catch_up"}, "misfirePolicy"),
        ({"overlap": "queue"}, "overlap"),
        ({"unknown": 1}, "unknown"),
    ],
)
async def test_invalid_input_is_a_422_naming_the_field(client: httpx.AsyncClient, change: dict, loc: str) -> None:
    response = await client.post("/v1/schedules", json={**SCHEDULE_BODY, **change}, headers=auth("user_admin"))
    body = assert_problem(response, 422)
    assert any(error["loc"].startswith(loc) for error in body["errors"]), body


@pytest.mark.parametrize(
    "change",
    [
        {"cron": None},
        {"paused": None},
        {"cron": "nope"},
        {"payload": {"format": "csv"}},
        {"id": "x"},
        {"priority": "5"},
    ],
)
async def test_invalid_patch_is_a_422_and_changes_nothing(
    client: httpx.AsyncClient, create_schedule, change: dict
) -> None:
    schedule = await create_schedule()
    path = f"/v1/schedules/{schedule['id']}"
    assert_problem(await client.patch(path, json=change, headers=auth("user_admin")), 422)
    assert (await client.get(path, headers=auth("user_admin"))).json() == schedule


async def test_an_unknown_report_type_is_accepted_as_at_job_creation(create_schedule) -> None:
    # As POST /v1/jobs: checks that need data happen in the job's first step.
    schedule = await create_schedule(payload={**EXPORT_PAYLOAD, "reportType": "invoices"})
    assert schedule["payload"]["reportType"] == "invoices"


async def test_seconds_field_when_the_settings_allow_it(client: httpx.AsyncClient, app, create_schedule) -> None:
    app.state.settings = app.state.settings.model_copy(update={"schedule_allow_seconds": True})
    schedule = await create_schedule(cron="*/10 * * * * *", timezone="UTC")
    assert parse(schedule["nextRunAt"]).second % 10 == 0


async def test_max_retries_defaults_to_the_job_types(create_schedule) -> None:
    assert (await create_schedule())["maxRetries"] == 3
    assert (await create_schedule(maxRetries=0))["maxRetries"] == 0


async def test_a_schedule_id_that_is_not_a_uuid_is_a_404(client: httpx.AsyncClient) -> None:
    for path in ("/v1/schedules/not-a-uuid", f"/v1/schedules/{uuid.uuid4()}"):
        assert_problem(await client.get(path, headers=auth("user_admin")), 404)


async def test_bodies_that_are_not_json_objects_are_problems(client: httpx.AsyncClient, create_schedule) -> None:
    admin = auth("user_admin")
    schedule = await create_schedule()
    path = f"/v1/schedules/{schedule['id']}"
    for method, url in (("POST", "/v1/schedules"), ("PATCH", path)):
        malformed = await client.request(
            method, url, content=b'{"cron": \xff', headers={**admin, "Content-Type": "application/json"}
        )
        assert_problem(malformed, 422)
        assert_problem(
            await client.request(method, url, content=b"cron=x", headers={**admin, "Content-Type": "text/plain"}), 415
        )
        assert_problem(await client.request(method, url, json=["a list"], headers=admin), 422)
    # The permission comes before the body's fields, as for POST /v1/jobs.
    assert_problem(await client.post("/v1/schedules", json={"cron": 5}, headers=auth("user_member")), 403)
    assert_problem(await client.patch(path, json={"cron": 5}, headers=auth("user_member")), 403)
