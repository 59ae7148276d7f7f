"""Issue 14, part 1: server-sent events. A real API served on loopback (streams need a
real server), a real worker process where a job must run, the real database's
notifications: event order and content, resume with Last-Event-ID, heartbeats, the same
isolation and permission rules as the status and list endpoints, revocation and token
expiry ending a stream, and one LISTEN connection however many clients."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import asyncpg
import httpx
import pytest

from jobrunner.app import create_app
from jobrunner.db.pool import connect
from jobrunner.settings import Settings
from tests.conftest import JWT_SECRET
from tests.integration.api.conftest import assert_problem, auth, token_for
from tests.support import processors, sse  # noqa: F401 (processors declares test_work)
from tests.support.jobs import insert_job
from tests.support.processes import serving_in_thread
from tests.support.workers import spawn_worker, stop_worker

pytestmark = pytest.mark.slow

FAST = {"sse_heartbeat_seconds": 0.3, "sse_progress_interval_seconds": 0.25, "pool_min_size": 1, "pool_max_size": 4}


@contextlib.contextmanager
def _serve(database_url: str, **overrides: Any) -> Iterator[str]:
    app = create_app(Settings(**{**FAST, **overrides}), database_url, JWT_SECRET)
    with serving_in_thread(app) as url:
        yield url


@pytest.fixture
def serve(database_url: str) -> Iterator[Callable[..., contextlib.AbstractContextManager[str]]]:
    yield lambda **overrides: _serve(database_url, **overrides)


@pytest.fixture
def base_url(database_url: str) -> Iterator[str]:
    with _serve(database_url) as url:
        yield url


@pytest.fixture
async def http(base_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=base_url, timeout=15) as client:
        yield client


@pytest.fixture
async def conn(database_url: str) -> AsyncIterator[asyncpg.Connection]:
    conn = await connect(database_url)  # with the service's JSON codecs
    yield conn
    await conn.close()


def _final(stream: sse.Stream) -> bool:
    return stream.end is not None


async def test_one_job_follows_a_real_worker_until_final(http, conn, database_url) -> None:
    """Queued (the snapshot), running with progress that only grows, coalesced to a few
    events a second, then succeeded, then `end: final`; every event's data is the status
    endpoint's answer at that moment, ids never go down."""
    job = await insert_job(conn, "test_work", {"seconds": 1.5, "record": False}, user="user_member")
    worker = None

    async def start_worker(_stream: sse.Stream) -> None:
        nonlocal worker
        worker = spawn_worker(database_url)

    try:
        stream = await sse.read(
            http, f"/v1/jobs/{job}/events", auth("user_member"), until=_final, timeout=60, on_open=start_worker
        )
    finally:
        if worker is not None:
            stop_worker(worker)
    assert stream.status_code == 200
    assert stream.headers["content-type"].startswith("text/event-stream")
    assert stream.headers["cache-control"] == "no-store"
    assert stream.end == "final"
    answers = stream.jobs
    statuses = [a["job"]["status"] for a in answers]
    assert statuses[0] == "queued" and statuses[-1] == "succeeded", statuses
    assert "running" in statuses
    assert statuses == sorted(statuses, key=["queued", "running", "succeeded"].index), statuses
    running = [a["progress"] for a in answers if a["job"]["status"] == "running"]
    assert running == sorted(running) and len(set(running)) >= 3, running  # progress moved, never back
    # The worker writes progress every 0.05 s for 1.5 s (30 writes); the stream coalesces
    # to one event per 0.25 s per job.
    assert len(running) <= 1.5 / 0.25 + 4, running
    assert all(set(a) == {"job", "progress", "canCancel", "canRetry"} for a in answers)
    assert answers[-1]["canCancel"] is False and answers[-1]["job"]["progress"] == 100
    assert stream.ids == sorted(stream.ids)
    # The final event is what the status endpoint says now.
    status = await http.get(f"/v1/jobs/{job}/status", headers=auth("user_member"))
    assert answers[-1] == status.json()
    # The data of every event is one line and equals its id's job version.
    assert all(int(e.id) >= 1_700_000_000_000 for e in stream.events if e.event == "job")


async def test_event_arrives_with_the_change_not_at_the_next_poll(http, conn) -> None:
    job = await insert_job(conn, "test_work", {}, user="user_member")
    changed_at: list[float] = []

    async def cancel_soon(_stream: sse.Stream) -> None:
        async def later() -> None:
            await asyncio.sleep(0.5)
            changed_at.append(time.monotonic())
            response = await http.post(f"/v1/jobs/{job}/cancel", headers=auth("user_member"))
            assert response.status_code == 200

        asyncio.get_running_loop().create_task(later())

    stream = await sse.read(http, f"/v1/jobs/{job}/events", auth("user_member"), until=_final, on_open=cancel_soon)
    received = time.monotonic()
    assert [a["job"]["status"] for a in stream.jobs] == ["queued", "cancelled"]
    assert stream.end == "final"
    assert received - changed_at[0] < 2.0  # not a poll interval (10 s while queued)


async def test_resume_with_last_event_id(http, conn) -> None:
    """A list stream dropped and resumed with Last-Event-ID starts with what changed while
    it was away; a one-job stream whose final state was seen answers 204."""
    first = await insert_job(conn, "test_work", {}, user="user_member")
    second = await insert_job(conn, "test_work", {}, user="user_member")
    opened = await sse.read(http, "/v1/jobs/events", auth("user_member"), until=lambda s: len(s.jobs) == 2)
    assert {a["job"]["id"] for a in opened.jobs} == {str(first), str(second)}
    last_id = opened.ids[-1]

    # While disconnected: one job is cancelled.
    assert (await http.post(f"/v1/jobs/{second}/cancel", headers=auth("user_member"))).status_code == 200
    resumed = await sse.read(
        http,
        "/v1/jobs/events",
        {**auth("user_member"), "Last-Event-ID": str(last_id)},
        until=lambda s: any(a["job"]["status"] == "cancelled" for a in s.jobs),
    )
    cancelled = [a for a in resumed.jobs if a["job"]["status"] == "cancelled"]
    assert [a["job"]["id"] for a in cancelled] == [str(second)]
    assert min(resumed.ids) >= last_id

    # The one-job stream of the cancelled job: its final state, then the end; resuming
    # after that is a 204 (an EventSource stops reconnecting).
    one = await sse.read(http, f"/v1/jobs/{second}/events", auth("user_member"), until=_final)
    assert [a["job"]["status"] for a in one.jobs] == ["cancelled"] and one.end == "final"
    again = await http.get(
        f"/v1/jobs/{second}/events", headers={**auth("user_member"), "Last-Event-ID": str(one.ids[-1])}
    )
    assert again.status_code == 204
    # An older id still gets the final state.
    older = await sse.read(
        http, f"/v1/jobs/{second}/events", {**auth("user_member"), "Last-Event-ID": str(last_id - 1)}, until=_final
    )
    assert [a["job"]["status"] for a in older.jobs] == ["cancelled"]


async def test_list_stream_filters_like_the_list(http, conn) -> None:
    export = await insert_job(conn, "test_work", {}, user="user_member")
    await insert_job(conn, "test_work", {}, user="user_member")
    await conn.execute("UPDATE jobs SET job_type = 'other_type' WHERE id = $1", export)
    stream = await sse.read(http, "/v1/jobs/events?jobType=other_type", auth("user_member"), until=lambda s: bool(s.jobs))
    assert [a["job"]["id"] for a in stream.jobs] == [str(export)]
    queued = await sse.read(http, "/v1/jobs/events?status=running", auth("user_member"), timeout=1)
    assert queued.status_code == 200 and queued.jobs == []


async def test_heartbeat_when_nothing_happens(http) -> None:
    stream = await sse.read(http, "/v1/jobs/events", auth("user_member"), until=lambda s: s.heartbeats >= 3, timeout=5)
    assert stream.heartbeats >= 3
    assert stream.jobs == []
    assert stream.events[0].event == "retry"


# --- isolation and permissions, as the status and list endpoints ---


async def test_another_users_or_organizations_job_is_404_before_streaming(http, conn) -> None:
    job = await insert_job(conn, "test_work", {}, user="user_member")
    for user in ("user_globex", "user_admin", "user_viewer"):
        response = await http.get(f"/v1/jobs/{job}/events", headers=auth(user))
        assert_problem(response, 404)
        # The status endpoint says the same.
        assert (await http.get(f"/v1/jobs/{job}/status", headers=auth(user))).status_code == 404
    # A token for org_globex naming an org_acme user: not a member there.
    assert_problem(await http.get(f"/v1/jobs/{job}/events", headers=auth("user_member", "org_globex")), 401)
    for bad in ("not-a-uuid", str(uuid.uuid4())):
        assert_problem(await http.get(f"/v1/jobs/{bad}/events", headers=auth("user_member")), 404)


async def test_authentication_and_permission(http, conn) -> None:
    job = await insert_job(conn, "test_work", {}, user="user_member")
    for path in (f"/v1/jobs/{job}/events", "/v1/jobs/events"):
        assert_problem(await http.get(path), 401)
        assert_problem(await http.get(path, headers={"Authorization": "Bearer forged.token.here"}), 401)
        expired = token_for("user_member", ttl=-10)
        assert_problem(await http.get(path, headers={"Authorization": f"Bearer {expired}"}), 401)
        assert_problem(await http.get(path, headers={**auth("user_member"), "Last-Event-ID": "abc"}), 422)
    await conn.execute("DELETE FROM role_permissions WHERE role_name = 'member' AND permission_name = 'jobs.view_jobs'")
    assert_problem(await http.get(f"/v1/jobs/{job}/events", headers=auth("user_member")), 403)
    assert_problem(await http.get("/v1/jobs/events", headers=auth("user_member")), 403)
    assert_problem(await http.get("/v1/jobs/events?status=bogus", headers=auth("user_member")), 422)


async def test_list_stream_never_shows_other_users_or_organizations_jobs(http, conn, database_url) -> None:
    """user_member's stream sees their own jobs change; the admin's in the same
    organization and globex's jobs change at the same time and never appear."""
    mine = await insert_job(conn, "test_work", {}, user="user_member")
    admins = await insert_job(conn, "test_work", {}, user="user_admin")
    globex = await insert_job(conn, "test_work", {}, org="org_globex", user="user_globex")

    async def change_all(_stream: sse.Stream) -> None:
        async def later() -> None:
            await asyncio.sleep(0.3)
            await conn.execute(
                "UPDATE jobs SET status = 'cancelled', cancelled_at = now(), completed_at = now(), updated_at = now()"
                " WHERE id = ANY($1::uuid[])",
                [admins, globex, mine],
            )

        asyncio.get_running_loop().create_task(later())

    stream = await sse.read(
        http,
        "/v1/jobs/events",
        auth("user_member"),
        until=lambda s: any(a["job"]["status"] == "cancelled" for a in s.jobs),
        on_open=change_all,
    )
    assert {a["job"]["id"] for a in stream.jobs} == {str(mine)}
    assert {a["job"]["userId"] for a in stream.jobs} == {"user_member"}
    # The admin's own list stream shows only the admin's job, even as an admin.
    own = await sse.read(http, "/v1/jobs/events", auth("user_admin"), timeout=1)
    assert own.jobs == []  # nothing unfinished: the admin's job is cancelled


@pytest.mark.parametrize(
    "revocation",
    [
        "DELETE FROM organization_members WHERE organization_id = 'org_acme' AND user_id = 'user_member'",
        "DELETE FROM user_roles WHERE organization_id = 'org_acme' AND user_id = 'user_member'",
        "DELETE FROM role_permissions WHERE role_name = 'member' AND permission_name = 'jobs.view_jobs'",
    ],
)
async def test_revocation_ends_open_streams(http, conn, revocation: str) -> None:
    job = await insert_job(conn, "test_work", {}, user="user_member")

    async def revoke(_stream: sse.Stream) -> None:
        async def later() -> None:
            await asyncio.sleep(0.2)
            await conn.execute(revocation)

        asyncio.get_running_loop().create_task(later())

    started = time.monotonic()
    one, listed = await asyncio.gather(
        sse.read(http, f"/v1/jobs/{job}/events", auth("user_member"), until=_final, on_open=revoke),
        sse.read(http, "/v1/jobs/events", auth("user_member"), until=_final),
    )
    assert one.end == listed.end == "access_revoked"
    assert time.monotonic() - started < 5  # heartbeat 0.3 s: checked a few times a second
    # A reconnect is refused.
    assert (await http.get(f"/v1/jobs/{job}/events", headers=auth("user_member"))).status_code in (401, 403)


async def test_token_expiry_ends_the_stream(http) -> None:
    token = token_for("user_member", ttl=2)
    started = time.monotonic()
    stream = await sse.read(http, "/v1/jobs/events", {"Authorization": f"Bearer {token}"}, until=_final, timeout=10)
    assert stream.end == "token_expired"
    assert 0.5 < time.monotonic() - started < 5


async def test_streams_end_after_the_longest_duration(serve) -> None:
    with serve(sse_max_stream_seconds=0.5) as url:
        async with httpx.AsyncClient(base_url=url) as client:
            stream = await sse.read(client, "/v1/jobs/events", auth("user_member"), until=_final, timeout=5)
    assert stream.end == "max_duration"


async def test_without_listen_the_streams_are_unavailable(serve) -> None:
    """Through a transaction-mode pooler with no direct URL there is no LISTEN: 503 with
    Retry-After, so clients poll."""
    with serve(database_pooler="transaction") as url:
        async with httpx.AsyncClient(base_url=url) as client:
            response = await client.get("/v1/jobs/events", headers=auth("user_member"))
    assert_problem(response, 503)
    assert "Retry-After" in response.headers


async def test_route_order_events_is_not_a_job_id(http) -> None:
    response = await http.get("/v1/jobs/events/status", headers=auth("user_member"))
    assert_problem(response, 404)  # "events" as a job id: no such job
    stream = await sse.read(http, "/v1/jobs/events", auth("user_member"), timeout=0.5)
    assert stream.status_code == 200


# --- one LISTEN connection fans out to every client ---


async def test_one_listen_connection_for_fifty_clients(http, conn) -> None:
    """50 streams (25 one-job, 25 list) on one API process: one LISTEN connection and
    the pool's few connections, never one per client; one change reaches every stream."""
    jobs = [await insert_job(conn, "test_work", {}, user="user_member") for _ in range(5)]
    ready: set[int] = set()

    async def client(index: int) -> sse.Stream:
        one_job = index % 2 == 0
        path = f"/v1/jobs/{jobs[index % 5]}/events" if one_job else "/v1/jobs/events"

        def done(stream: sse.Stream) -> bool:
            if stream.jobs:
                ready.add(index)
            cancelled = {a["job"]["id"] for a in stream.jobs if a["job"]["status"] == "cancelled"}
            return len(cancelled) == (1 if one_job else 5)

        return await sse.read(http, path, auth("user_member"), until=done, timeout=30)

    readers = [asyncio.create_task(client(i)) for i in range(50)]
    deadline = time.monotonic() + 20
    while len(ready) < 50 and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    assert len(ready) == 50
    backends = await conn.fetch(
        "SELECT pid, query FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
    )
    listening = [b for b in backends if "jobrunner_job_events" in (b["query"] or "")]
    assert len(listening) == 1, backends
    assert len(backends) <= 4 + 1, backends  # the API's pool (at most 4) and its one LISTEN connection
    await conn.execute(
        "UPDATE jobs SET status = 'cancelled', cancelled_at = now(), completed_at = now(), updated_at = now()"
        " WHERE id = ANY($1::uuid[])",
        jobs,
    )
    streams = await asyncio.gather(*readers)
    for index, stream in enumerate(streams):
        assert stream.status_code == 200
        cancelled = {a["job"]["id"] for a in stream.jobs if a["job"]["status"] == "cancelled"}
        assert cancelled == ({str(jobs[index % 5])} if index % 2 == 0 else {str(j) for j in jobs}), index


def test_event_data_is_one_line_of_json() -> None:
    from jobrunner.jobs import sse as wire

    chunk = wire.job_event(5, json.dumps({"a": "line\nbreak"}).encode())
    assert chunk.count(b"\n") == 4 and chunk.endswith(b"\n\n")


async def test_a_stopping_api_process_ends_its_streams(database_url, tmp_path) -> None:
    """SIGTERM to `jobrunner serve` with streams open: each ends with `end: shutdown` and
    the process exits at once (an open stream never holds a shutdown)."""
    import os
    import signal
    import subprocess
    import sys

    from tests.support.processes import REPO_ROOT, command_env, free_port, wait_until_healthy

    port = free_port()
    log = tmp_path / "api.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "jobrunner.cli", "serve", "--no-worker", "--port", str(port)],
            env=command_env(
                DATABASE_URL=database_url,
                JOBRUNNER_JWT_SECRET=JWT_SECRET,
                JOBRUNNER_DATA_DIR=str(tmp_path / "data"),
                PYTHONPATH=os.pathsep.join([str(REPO_ROOT), os.environ.get("PYTHONPATH", "")]),
            ),
            cwd=REPO_ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        base = f"http://127.0.0.1:{port}"
        await asyncio.to_thread(wait_until_healthy, process, base, log.read_text)
        stopped_at: list[float] = []

        async def stop_soon(_stream: sse.Stream) -> None:
            async def later() -> None:
                await asyncio.sleep(0.5)
                stopped_at.append(time.monotonic())
                process.send_signal(signal.SIGTERM)

            asyncio.get_running_loop().create_task(later())

        async with httpx.AsyncClient(base_url=base) as client:
            stream = await sse.read(client, "/v1/jobs/events", auth("user_member"), until=_final, on_open=stop_soon)
        assert stream.end == "shutdown", log.read_text()
        await asyncio.to_thread(process.wait, 10)
        assert time.monotonic() - stopped_at[0] < 8
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


async def test_closed_streams_are_forgotten(database_url) -> None:
    """Clients that go away (after events, or at once) leave no subscription behind."""
    app = create_app(Settings(**FAST), database_url, JWT_SECRET)
    with serving_in_thread(app) as url:
        async with httpx.AsyncClient(base_url=url) as client:
            streams = [
                sse.read(client, "/v1/jobs/events", auth("user_member"), until=lambda s: s.heartbeats >= 1)
                for _ in range(10)
            ]
            await asyncio.gather(*streams)
            for _ in range(10):  # gone before reading anything
                async with client.stream("GET", "/v1/jobs/events", headers=auth("user_member")) as response:
                    assert response.status_code == 200
        deadline = time.monotonic() + 10
        while app.state.job_events.streams and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        assert app.state.job_events.streams == 0


async def test_the_streams_are_in_the_openapi_document(http) -> None:
    document = (await http.get("/openapi.json")).json()
    one = document["paths"]["/v1/jobs/{job_id}/events"]["get"]
    listed = document["paths"]["/v1/jobs/events"]["get"]
    for operation in (one, listed):
        event = operation["responses"]["200"]["content"]["text/event-stream"]["schema"]
        assert event["properties"]["event"]["enum"] == ["job", "end"]
        assert {"401", "403", "422", "503"} <= set(operation["responses"])
        assert "Last-Event-ID" in {p["name"] for p in operation["parameters"]}
    assert {"204", "404"} <= set(one["responses"])
    assert {"status", "jobType"} <= {p["name"] for p in listed["parameters"]}
