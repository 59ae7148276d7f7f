"""Schedules are driven as tests/integration/api drives jobs: a fresh database per test,
the app with its lifespan, httpx over ASGI; the scheduler runs in the test (``Scheduler``)
or in real worker processes."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.integration.api.conftest import app, assert_problem, auth, client, db, settings  # noqa: F401

EXPORT_PAYLOAD = {
    "reportType": "quotes",
    "format": "csv",
    "filters": {"dateFrom": "2024-01-01", "dateTo": "2024-12-31"},
}
SCHEDULE_BODY: dict[str, Any] = {
    "cron": "0 6 * * 1",
    "timezone": "Europe/Paris",
    "jobType": "export_report",
    "payload": EXPORT_PAYLOAD,
    "priority": 3,
}


@pytest.fixture
def create_schedule(client: httpx.AsyncClient):  # noqa: F811
    async def create(user: str = "user_admin", **changes: Any) -> dict[str, Any]:
        response = await client.post("/v1/schedules", json={**SCHEDULE_BODY, **changes}, headers=auth(user))
        assert response.status_code == 201, response.text
        return response.json()

    return create


__all__ = ["assert_problem", "auth"]
