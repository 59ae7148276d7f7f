"""Completion webhooks end to end: the HTTP API (httpx against the app), a real worker
and the delivery loop in process, against a fresh database, and a real receiver on
loopback that verifies signatures with the ``standardwebhooks`` library, as a receiver
of the service would."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

import tests.support.processors  # noqa: F401 - declares test_work
from jobrunner.settings import Settings
from jobrunner.webhooks.dispatcher import webhook_deliveries
from jobrunner.worker.loop import Worker
from tests.integration.api.conftest import app, auth, client, db  # noqa: F401 - fixtures
from tests.integration.worker.conftest import fast_settings

QUICK = {"seconds": 0, "record": False}


def webhook_settings(tmp_path: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = dict(
        data_dir=tmp_path / "data",
        max_body_bytes=16 * 1024,
        pool_min_size=1,
        callback_timeout_seconds=2.0,
        callback_retry_base_seconds=0.1,
        callback_retry_cap_seconds=0.2,
        callback_poll_interval_seconds=0.05,
        # The receivers of these tests listen on loopback.
        outbound_allowed_networks=["127.0.0.0/8"],
    )
    values.update(overrides)
    return fast_settings(**values)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return webhook_settings(tmp_path)


@pytest.fixture
async def worker(database_url: str, settings: Settings) -> AsyncIterator[Worker]:
    """A worker with the delivery loop beside it, as every worker process runs them."""
    async with Worker(database_url, settings, concurrency=4, worker_id="webhooks-test").running() as w:
        async with webhook_deliveries(database_url, settings):
            yield w


def verifier(secret: str) -> Callable[[dict[str, str], bytes], bool]:
    """What a receiver does: the standardwebhooks library checks the three headers."""
    hook = Webhook(secret)

    def check(headers: dict[str, str], body: bytes) -> bool:
        try:
            hook.verify(body, headers)
        except WebhookVerificationError:
            return False
        return True

    return check


async def signing_secret(api: httpx.AsyncClient, org_admin: str = "user_admin") -> str:
    response = await api.get("/v1/settings/webhook", headers=auth(org_admin))
    assert response.status_code == 200, response.text
    return response.json()["signingSecret"]


async def start(api: httpx.AsyncClient, payload: dict[str, Any], user: str = "user_admin", **extra: Any) -> str:
    body = {"jobType": "test_work", "payload": payload, **extra}
    response = await api.post("/v1/jobs", json=body, headers=auth(user))
    assert response.status_code == 202, response.text
    return response.json()["jobId"]


async def wait_for(
    api: httpx.AsyncClient,
    job_id: str,
    done: Callable[[dict[str, Any]], bool],
    user: str = "user_admin",
    timeout: float = 20.0,
) -> dict[str, Any]:
    """Poll the status endpoint until ``done(answer)``; the last answer."""
    deadline = time.monotonic() + timeout
    while True:
        response = await api.get(f"/v1/jobs/{job_id}/status", headers=auth(user))
        assert response.status_code == 200, response.text
        answer = response.json()
        if done(answer):
            return answer
        assert time.monotonic() < deadline, f"not done after {timeout} s: {answer}"
        await asyncio.sleep(0.05)


def settled(count: int = 1) -> Callable[[dict[str, Any]], bool]:
    """``count`` deliveries, none pending any more."""

    def done(answer: dict[str, Any]) -> bool:
        deliveries = answer.get("webhookDeliveries", [])
        return len(deliveries) >= count and all(d["state"] != "pending" for d in deliveries)

    return done
