"""Item 6 of issue 9: per-organization quotas that hold across any number of API
processes (they live in PostgreSQL): queued jobs per organization, job creations per
user per minute, stored upload bytes per organization. Over a limit: 429 problem+json
with Retry-After. Limits come from settings; organization_limits overrides them."""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path

import httpx
import pytest

from jobrunner.app import create_app
from jobrunner.settings import Settings
from tests.conftest import JWT_SECRET
from tests.integration.api.conftest import EXPORT_BODY, assert_problem, auth, set_state, state_columns
from tests.support.jobs import execute_unchecked

QUEUED, RATE, UPLOAD_BYTES = 6, 8, 2000


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        max_body_bytes=16 * 1024,
        pool_min_size=1,
        pool_max_size=8,
        data_dir=tmp_path / "data",
        quota_max_queued_jobs=QUEUED,
        quota_max_creations_per_minute=RATE,
        quota_max_upload_bytes=UPLOAD_BYTES,
    )


async def create(client, user: str = "user_admin") -> httpx.Response:
    return await client.post("/v1/jobs", json=EXPORT_BODY, headers=auth(user))


def assert_quota_problem(response: httpx.Response, max_seconds: int) -> dict:
    problem = assert_problem(response, 429)
    seconds = int(response.headers["retry-after"])
    assert 1 <= seconds <= max_seconds
    assert "limit" in problem["detail"]
    return problem


async def set_limits(db, org: str = "org_acme", **limits) -> None:
    columns = ", ".join(limits)
    values = ", ".join(f"${i + 2}" for i in range(len(limits)))
    await db.execute(
        f"INSERT INTO organization_limits (organization_id, {columns}) VALUES ($1, {values})",
        org,
        *limits.values(),
    )


async def test_queued_jobs_per_organization(client, db):
    """Waiting jobs of all users of the organization count; started ones do not."""
    ids = [(await create(client, user)).json()["jobId"] for user in ["user_admin"] * 4 + ["user_member"] * 2]
    problem = assert_quota_problem(await create(client, "user_member"), 60)
    assert f"{QUEUED} jobs waiting to start" in problem["detail"]
    assert await db.fetchval("SELECT count(*) FROM jobs") == QUEUED
    # Another organization is not affected.
    assert (await create(client, "user_globex")).status_code == 202
    # A retrying job waiting for its next attempt still waits; a running one does not.
    await set_state(db, ids[0], **state_columns("retrying"))
    assert_problem(await create(client), 429)
    await set_state(db, ids[1], **state_columns("running"))
    assert (await create(client)).status_code == 202
    assert_problem(await create(client), 429)


async def test_creations_per_user_per_minute(client, db):
    for _ in range(RATE):
        await execute_unchecked(
            db, "UPDATE jobs SET status = 'succeeded', completed_at = now() WHERE status = 'queued'"
        )
        assert (await create(client)).status_code == 202
    await execute_unchecked(db, "UPDATE jobs SET status = 'succeeded', completed_at = now()")
    problem = assert_quota_problem(await create(client), 60)
    assert f"{RATE} jobs in the last minute" in problem["detail"]
    # Per user: another member of the organization may still create.
    assert (await create(client, "user_member")).status_code == 202
    # Retry-After counts down to when the oldest creation leaves the minute.
    await db.execute("UPDATE jobs SET created_at = created_at - interval '50 seconds' WHERE user_id = 'user_admin'")
    assert_quota_problem(await create(client), 10)
    await db.execute("UPDATE jobs SET created_at = created_at - interval '11 seconds' WHERE user_id = 'user_admin'")
    assert (await create(client)).status_code == 202


async def test_organization_limits_override_the_settings(client, db):
    await set_limits(db, max_queued_jobs=2, max_creations_per_minute=None)
    assert [(await create(client)).status_code for _ in range(3)] == [202, 202, 429]
    await db.execute("UPDATE organization_limits SET max_queued_jobs = NULL, max_creations_per_minute = 0")
    assert_problem(await create(client), 429)
    await db.execute("UPDATE organization_limits SET max_queued_jobs = 100, max_creations_per_minute = 100")
    assert [(await create(client)).status_code for _ in range(RATE + 1)].count(202) == RATE + 1


async def test_parallel_creations_never_exceed_the_limit(client, db):
    await set_limits(db, max_queued_jobs=1000, max_creations_per_minute=10)
    answers = await asyncio.gather(*(create(client) for _ in range(40)))
    assert Counter(answer.status_code for answer in answers) == {202: 10, 429: 30}
    assert await db.fetchval("SELECT count(*) FROM jobs") == 10
    assert await db.fetchval("SELECT count(*) FROM audit_logs WHERE action = 'job.created'") == 10


async def test_two_api_processes_share_the_limit(client, db, database_url, settings):
    """A second app (its own pool, as another process would have) on the same database."""
    await set_limits(db, max_queued_jobs=7, max_creations_per_minute=1000)
    other = create_app(settings, database_url, JWT_SECRET)
    async with other.router.lifespan_context(other):
        transport = httpx.ASGITransport(app=other)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as second:
            users = ["user_admin", "user_member"]
            answers = await asyncio.gather(*(create(c, u) for c in (client, second) for u in users for _ in range(10)))
    assert Counter(answer.status_code for answer in answers) == {202: 7, 429: 33}
    assert await db.fetchval("SELECT count(*) FROM jobs") == 7


async def upload(client, size: int, user: str = "user_admin") -> httpx.Response:
    content = b"name,email\n" + b"x" * (size - 11)
    return await client.post("/v1/uploads", content=content, headers={**auth(user), "Content-Type": "text/csv"})


def stored_files(settings: Settings) -> list[Path]:
    root = Path(settings.data_dir) / "uploads" / "files"
    return sorted(root.iterdir()) if root.exists() else []


async def test_upload_bytes_per_organization(client, db, settings):
    assert (await upload(client, 1200)).status_code == 201
    problem = assert_quota_problem(await upload(client, 900, "user_member"), 3600)
    assert f"limit of {UPLOAD_BYTES} bytes" in problem["detail"] and "1200 stored" in problem["detail"]
    assert (await upload(client, 800)).status_code == 201  # exactly at the quota
    assert_problem(await upload(client, 20), 429)
    assert len(stored_files(settings)) == 2
    # Another organization has its own quota; deleting uploads makes room.
    assert (await upload(client, 1500, "user_globex")).status_code == 201
    await db.execute("DELETE FROM uploads WHERE organization_id = 'org_acme' AND size_bytes = 800")
    assert (await upload(client, 700)).status_code == 201


async def test_upload_quota_is_exact_when_the_size_is_only_known_at_the_end(client, db, settings):
    """Chunked bodies (no Content-Length) pass the early check; the insert refuses them
    and their file is removed."""
    await set_limits(db, max_upload_bytes=1000)

    async def chunked(size: int) -> httpx.Response:
        async def body():
            yield b"name,email\n"
            yield b"x" * (size - 11)

        return await client.post(
            "/v1/uploads", content=body(), headers={**auth("user_admin"), "Content-Type": "text/csv"}
        )

    answers = await asyncio.gather(*(chunked(300) for _ in range(8)))
    assert Counter(answer.status_code for answer in answers) == {201: 3, 429: 5}
    assert await db.fetchval("SELECT sum(size_bytes) FROM uploads") == 900
    assert len(stored_files(settings)) == 3
    leftovers = [p for p in (Path(settings.data_dir) / "uploads" / "files").iterdir() if p.name.startswith(".")]
    assert leftovers == []


async def test_quota_answers_are_documented(client):
    spec = (await client.get("/openapi.json")).json()
    assert "429" in spec["paths"]["/v1/jobs"]["post"]["responses"]
    assert "429" in spec["paths"]["/v1/uploads"]["post"]["responses"]


async def test_the_default_limits_let_a_busy_page_through(database_url, tmp_path):
    """The defaults are generous: 200 jobs in a burst (the page benchmark) are fine."""
    defaults = Settings(pool_min_size=1, pool_max_size=4, data_dir=tmp_path)
    assert defaults.quota_max_queued_jobs >= 1000 and defaults.quota_max_creations_per_minute >= 200
    app = create_app(defaults, database_url, JWT_SECRET)
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
            answers = [await create(client, "user_member") for _ in range(200)]
    assert {answer.status_code for answer in answers} == {202}
