"""Item 5 and part of item 8 of issue 9: payloads that can be stored can be shown.

Payload depth and size are bounded at the door (422 with a field error); a NUL character
or an out-of-range scheduledAt is a 422 in our words, refused before the database; and a
row already in the database with a deep or huge payload/result never breaks a read: the
status and list answers show such a field as null, named in the job's ``omitted``."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings as hsettings, strategies as st

from jobrunner.settings import Settings
from tests.integration.api.conftest import EXPORT_BODY, assert_problem, auth

PAYLOAD = EXPORT_BODY["payload"]
# Words that only a driver, Python or PostgreSQL would say.
DRIVER_TEXT = (
    "asyncpg",
    "postgres",
    "invalid byte sequence",
    "utf8",
    "0x00",
    "query argument",
    "dataerror",
    "overflowerror",
    "out of range for",
    "date value out of range",
    "recursion",
    "traceback",
    "jsondecodeerror",
    "unsupported unicode escape",
)


@pytest.fixture
def settings() -> Settings:
    return Settings(
        max_body_bytes=64 * 1024,
        pool_min_size=1,
        pool_max_size=8,
        payload_max_depth=32,
        payload_max_bytes=8 * 1024,
        list_field_max_bytes=1024,
    )


def nested(depth: int, leaf: object = "x") -> object:
    value = leaf
    for _ in range(depth):
        value = {"a": value}
    return value


def notification(data: object) -> dict:
    return {"jobType": "notification", "payload": {"channel": "webhook", "template": "job_finished", "data": data}}


def assert_ours(response) -> dict:
    """A 422 problem whose words are ours: no driver text, no Python repr."""
    problem = assert_problem(response, 422)
    text = response.text.lower()
    assert not [word for word in DRIVER_TEXT if word in text], response.text
    return problem


async def post(client, body) -> object:
    content = body if isinstance(body, str) else json.dumps(body)
    return await client.post(
        "/v1/jobs", content=content, headers={**auth("user_admin"), "Content-Type": "application/json"}
    )


@pytest.mark.parametrize("depth", [32, 40, 251, 600, 1000])
async def test_deep_payload_is_refused_at_the_door(client, db, depth):
    # payload > data > `depth` levels; written by hand (json.dumps recurses).
    body = (
        '{"jobType": "notification", "payload": {"channel": "webhook", "template": "job_finished", '
        f'"data": {deep_text(depth)}}}}}'
    )
    response = await post(client, body)
    problem = assert_ours(response)
    [error] = problem["errors"]
    assert error["loc"].startswith("payload.data")
    assert "deeper than 32 levels" in error["message"]
    assert await db.fetchval("SELECT count(*) FROM jobs") == 0


async def test_payload_within_depth_is_accepted(client):
    # payload (1) > data and 30 more levels (31): 32 in all.
    response = await post(client, notification(nested(31)))
    assert response.status_code == 202, response.text


async def test_payload_over_size_is_refused(client, db, settings):
    data = {"text": "y" * settings.payload_max_bytes}
    problem = assert_ours(await post(client, notification(data)))
    assert problem["errors"][0]["loc"] == "payload"
    assert f"larger than {settings.payload_max_bytes} bytes" in problem["errors"][0]["message"]
    assert await db.fetchval("SELECT count(*) FROM jobs") == 0


@pytest.mark.parametrize(
    "payload, loc",
    [
        ({**PAYLOAD, "reportType": "a\u0000b"}, "payload.reportType"),
        ({**PAYLOAD, "filters": {"dateFrom": "2024-01-01", "status": "\u0000"}}, "payload.filters.status"),
        ({**PAYLOAD, "filters": {"sta\u0000tus": "sent"}}, "payload.filters"),
    ],
)
async def test_nul_in_payload_is_ours(client, db, payload, loc):
    problem = assert_ours(await post(client, {**EXPORT_BODY, "payload": payload}))
    assert [error["loc"] for error in problem["errors"]] == [loc]
    assert "NUL" in problem["errors"][0]["message"]
    assert await db.fetchval("SELECT count(*) FROM audit_logs") == 0


async def test_nul_in_notification_data_is_ours(client):
    problem = assert_ours(await post(client, notification({"list": ["ok", {"deep": "x\u0000"}]})))
    assert problem["errors"][0]["loc"] == "payload.data.list.1.deep"


@pytest.mark.parametrize(
    "when",
    [
        "9999-12-31T23:59:59-05:00",
        "9999-12-31T23:59:59.999-23:59",
        "0001-01-01T00:00:00+05:00",
        "0001-01-01T00:00:00+14:00",
        1e20,
        "1e20",
        "99999999999",
        -1e20,
        "+99999-01-01T00:00:00Z",
    ],
)
async def test_out_of_range_scheduled_at_is_ours(client, db, when):
    problem = assert_ours(await post(client, {**EXPORT_BODY, "scheduledAt": when}))
    assert [error["loc"] for error in problem["errors"]] == ["scheduledAt"]
    assert await db.fetchval("SELECT count(*) FROM jobs") == 0


async def test_latest_representable_scheduled_at_is_accepted(client):
    response = await post(client, {**EXPORT_BODY, "scheduledAt": "9999-12-31T23:59:59Z"})
    assert response.status_code == 202, response.text


@pytest.mark.parametrize(
    "query, loc",
    [
        ("jobType=a%00b", "jobType"),
        ("status=queued%00", "status"),
        ("page=" + "9" * 40, "page"),
        ("pageSize=" + "9" * 40, "pageSize"),
        ("page=%00", "page"),
        ("pageSize=1%00", "pageSize"),
    ],
)
async def test_list_query_nul_and_huge_numbers_are_ours(client, query, loc):
    problem = assert_ours(await client.get(f"/v1/jobs?{query}", headers=auth("user_admin")))
    assert [error["loc"] for error in problem["errors"]] == [loc]


# --- Rows already in the database never break a read --------------------------------

INSERT_ROW = """
INSERT INTO jobs (organization_id, user_id, job_type, status, payload, result, progress,
                  current_step, completed_at)
VALUES ('org_acme', 'user_admin', 'notification', 'succeeded', $1::text::jsonb,
        $2::text::jsonb, 100, 3, now())
RETURNING id::text"""


def deep_text(depth: int) -> str:
    return '{"a":' * depth + "1" + "}" * depth


async def test_stored_deep_payload_and_result_do_not_break_reads(client, db):
    """251 levels is what the old API accepted; 3,000 is deeper than the JSON decoder goes."""
    ok = await client.post("/v1/jobs", json=EXPORT_BODY, headers=auth("user_admin"))
    assert ok.status_code == 202
    ids = {
        depth: await db.fetchval(
            INSERT_ROW, '{"channel": "webhook", "data": ' + deep_text(depth) + "}", deep_text(depth)
        )
        for depth in (251, 254, 3000)
    }
    for depth, job_id in ids.items():
        status = await client.get(f"/v1/jobs/{job_id}/status", headers=auth("user_admin"))
        assert status.status_code == 200, (depth, status.text)
        job = status.json()["job"]
        if depth == 251:  # still fits in a status answer: shown in full
            assert job["payload"]["channel"] == "webhook" and job["result"]["a"]
            assert job["omitted"] == []
        else:
            assert job["payload"] is None and job["result"] is None
            assert sorted(job["omitted"]) == ["payload", "result"]
    listing = await client.get("/v1/jobs", params={"pageSize": 100}, headers=auth("user_admin"))
    assert listing.status_code == 200, listing.text
    jobs = {job["id"]: job for job in listing.json()["jobs"]}
    assert len(jobs) == 4
    assert all(jobs[job_id]["payload"] is None and jobs[job_id]["result"] is None for job_id in ids.values())
    assert jobs[ok.json()["jobId"]]["payload"] == PAYLOAD
    assert jobs[ok.json()["jobId"]]["omitted"] == []


async def test_list_items_leave_out_large_fields_status_has_them(client, db, settings):
    big = {"text": "z" * 3000}  # under payload_max_bytes, over list_field_max_bytes
    created = await post(client, notification(big))
    assert created.status_code == 202, created.text
    job_id = created.json()["jobId"]
    huge_result = json.dumps({"rows": ["r" * 100] * 3000})  # 300 KB, written by a "worker"
    stored_id = await db.fetchval(INSERT_ROW, '{"channel": "webhook"}', huge_result)
    small = await client.post("/v1/jobs", json=EXPORT_BODY, headers=auth("user_admin"))

    listing = await client.get("/v1/jobs", headers=auth("user_admin"))
    assert listing.status_code == 200
    assert len(listing.content) < 3 * settings.list_field_max_bytes + 3000
    jobs = {job["id"]: job for job in listing.json()["jobs"]}
    assert (jobs[job_id]["payload"], jobs[job_id]["omitted"]) == (None, ["payload"])
    assert (jobs[stored_id]["result"], jobs[stored_id]["omitted"]) == (None, ["result"])
    assert jobs[stored_id]["payload"] == {"channel": "webhook"}
    assert jobs[small.json()["jobId"]]["omitted"] == []

    full = (await client.get(f"/v1/jobs/{job_id}/status", headers=auth("user_admin"))).json()["job"]
    assert full["payload"]["data"] == big and full["omitted"] == []
    full = (await client.get(f"/v1/jobs/{stored_id}/status", headers=auth("user_admin"))).json()["job"]
    assert len(full["result"]["rows"]) == 3000 and full["omitted"] == []


# --- Property test: whatever the strings and nesting, no 5xx and no driver text ----------

strings = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=12) | st.sampled_from(
    ["\u0000", "a\u0000", "\\u0000", "\ud7ff", "\uffff"]
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2**70), max_value=2**70) | st.floats(allow_nan=False) | strings,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(strings, children, max_size=3),
    max_leaves=10,
)
when = st.one_of(
    st.datetimes(timezones=st.timezones()).map(lambda d: d.isoformat()),
    st.from_regex(r"\A[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}(:[0-9]{2})?([+-][0-9]{2}:[0-9]{2}|Z)?\Z"),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False),
    strings,
)
bodies = st.one_of(
    st.builds(lambda data, depth: notification(nested(depth, data)), json_values, st.integers(0, 40)),
    st.builds(
        lambda report, filters, at: {
            **EXPORT_BODY,
            "payload": {**PAYLOAD, "reportType": report, "filters": filters},
            "scheduledAt": at,
        },
        strings,
        json_values,
        when,
    ),
)
list_queries = st.dictionaries(
    st.sampled_from(["page", "pageSize", "status", "jobType"]),
    strings | st.integers(-(2**70), 2**70).map(str),
    max_size=4,
)


def _samples(**strategies):
    drawn = []

    @hsettings(max_examples=120, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(**strategies)
    def collect(**example):
        drawn.append(example)

    collect()
    return drawn


def _check(response) -> None:
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        assert response.headers["content-type"] == "application/problem+json"
        text = response.text.lower()
        assert not [word for word in DRIVER_TEXT if word in text], response.text


async def test_random_strings_and_nesting_never_5xx_nor_driver_text(client):
    for example in _samples(body=bodies, query=list_queries):
        _check(await post(client, example["body"]))
        _check(await client.get("/v1/jobs", params=example["query"], headers=auth("user_admin")))
    listing = await client.get("/v1/jobs", params={"pageSize": 100}, headers=auth("user_admin"))
    assert listing.status_code == 200
