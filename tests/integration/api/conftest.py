"""The API against a fresh database per test, through httpx + ASGITransport with the
app's lifespan entered (ASGITransport does not run it)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import asyncpg
import httpx
import pytest

from jobrunner.app import create_app
from jobrunner.auth.tokens import issue_token
from jobrunner.settings import Settings
from tests.conftest import JWT_SECRET

EXPORT_BODY = {
    "jobType": "export_report",
    "payload": {
        "reportType": "quotes",
        "format": "csv",
        "filters": {"dateFrom": "2024-01-01", "dateTo": "2024-12-31"},
    },
    "priority": 5,
}

ORG_OF = {"user_admin": "org_acme", "user_member": "org_acme", "user_viewer": "org_acme", "user_globex": "org_globex"}


def token_for(user: str, org: str | None = None, ttl: int = 3600) -> str:
    return issue_token(JWT_SECRET, user, org or ORG_OF[user], ttl)


def auth(user: str, org: str | None = None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token_for(user, org)}"}


@pytest.fixture
def settings() -> Settings:
    return Settings(max_body_bytes=16 * 1024, pool_min_size=1, pool_max_size=8)


@pytest.fixture
async def app(settings: Settings, api_database_url: str) -> AsyncIterator[Any]:
    app = create_app(settings, api_database_url, JWT_SECRET)
    async with app.router.lifespan_context(app):
        yield app


@pytest.fixture
async def client(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[asyncpg.Connection]:
    from jobrunner.db.pool import connect

    conn = await connect(database_url)
    yield conn
    await conn.close()


CreateJob = Callable[..., Awaitable[str]]


@pytest.fixture
def create_job(client: httpx.AsyncClient) -> CreateJob:
    async def create(user: str = "user_admin", body: dict[str, Any] | None = None) -> str:
        response = await client.post("/v1/jobs", json=body or EXPORT_BODY, headers=auth(user))
        assert response.status_code == 202, response.text
        return response.json()["jobId"]

    return create


async def set_state(db: asyncpg.Connection, job_id: str, **columns: Any) -> None:
    """What a worker would do, written directly (test set-up only)."""
    if not columns:
        return
    from tests.support.jobs import execute_unchecked

    assignments = ", ".join(f"{name} = ${i + 2}" for i, name in enumerate(columns))
    await execute_unchecked(db, f"UPDATE jobs SET {assignments} WHERE id = $1", uuid.UUID(job_id), *columns.values())


def assert_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == status
    assert {"type", "title", "status", "detail"} <= set(body)
    return body


def _now() -> Any:
    import datetime as dt

    return dt.datetime.now(dt.UTC)


# Columns a worker (or the API) would have set for a job to be in each state.
def state_columns(status: str) -> dict[str, Any]:
    now = _now()
    return {
        "queued": {},
        "running": {"status": "running", "locked_by": "w1", "started_at": now, "progress": 40, "current_step": 2},
        "retrying": {"status": "retrying", "scheduled_at": now, "retry_count": 1, "error_message": "flaky"},
        "succeeded": {
            "status": "succeeded",
            "completed_at": now,
            "progress": 100,
            "current_step": 6,
            "result": {"recordCount": 1},
        },
        "failed": {
            "status": "failed",
            "completed_at": now,
            "progress": 20,
            "current_step": 1,
            "error_message": "Invalid export job payload",
        },
        "cancelled": {"status": "cancelled", "completed_at": now, "cancelled_at": now},
    }[status]
