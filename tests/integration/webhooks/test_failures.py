"""What is retried and what is not, bounded attempts, refused destinations (the outbound
rules of the service apply), and several delivery loops never sending one attempt twice."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import asyncpg
import httpx

from jobrunner.db.pool import create_pool
from jobrunner.integrations.secrets import secret_box
from jobrunner.outbound.client import outbound_client
from jobrunner.webhooks.dispatcher import Dispatcher
from tests.integration.api.conftest import assert_problem, auth
from tests.integration.webhooks.conftest import (
    QUICK,
    settled,
    signing_secret,
    start,
    verifier,
    wait_for,
    webhook_settings,
)
from tests.support.processes import free_port
from tests.support.receivers import http_receiver

ATTEMPT_KEYS = {"at", "durationMs", "statusCode", "error"}


async def test_4xx_is_not_retried_but_408_and_429_are(client: httpx.AsyncClient, worker) -> None:
    secret = await signing_secret(client)
    with http_receiver("", script=[404], check=verifier(secret)) as refusing:
        refused = await start(client, QUICK, callbackUrl=refusing.url)
        answer = await wait_for(client, refused, settled())
    [delivery] = answer["webhookDeliveries"]
    assert delivery["state"] == "failed"
    assert [a["statusCode"] for a in delivery["attempts"]] == [404]
    assert len(refusing.received) == 1

    with http_receiver("", script=[429, 408], check=verifier(secret)) as busy:
        job_id = await start(client, QUICK, callbackUrl=busy.url)
        answer = await wait_for(client, job_id, settled())
    [delivery] = answer["webhookDeliveries"]
    assert delivery["state"] == "delivered"
    assert [a["statusCode"] for a in delivery["attempts"]] == [429, 408, 200]


async def test_attempts_are_bounded(client: httpx.AsyncClient, database_url: str, tmp_path: Path) -> None:
    """JOBRUNNER_CALLBACK_MAX_ATTEMPTS attempts, then failed; never what the receiver said."""
    settings = webhook_settings(tmp_path, callback_max_attempts=3)
    secret = await signing_secret(client)
    with http_receiver("", script=[503] * 10, check=verifier(secret)) as receiver:
        job_id = await start(client, QUICK, callbackUrl=receiver.url, scheduledAt="2999-01-01T00:00:00Z")
        assert (await client.post(f"/v1/jobs/{job_id}/cancel", headers=auth("user_admin"))).status_code == 200
        await _drain(database_url, settings, rounds=40)
        answer = await wait_for(client, job_id, settled())
    [delivery] = answer["webhookDeliveries"]
    assert delivery["state"] == "failed" and delivery["nextAttemptAt"] is None
    assert [a["statusCode"] for a in delivery["attempts"]] == [503, 503, 503]
    assert all(set(a) == ATTEMPT_KEYS for a in delivery["attempts"])
    assert len(receiver.received) == 3


async def test_timeouts_and_closed_ports_are_retried_as_one_word(
    client: httpx.AsyncClient, database_url: str, tmp_path: Path
) -> None:
    settings = webhook_settings(tmp_path, callback_max_attempts=2, callback_timeout_seconds=0.3)
    secret = await signing_secret(client)
    closed = f"http://127.0.0.1:{free_port()}/hook"
    with http_receiver("", delay=1.0, check=verifier(secret)) as slow:
        slow_job = await start(client, QUICK, callbackUrl=slow.url, scheduledAt="2999-01-01T00:00:00Z")
        closed_job = await start(client, QUICK, callbackUrl=closed, scheduledAt="2999-01-01T00:00:00Z")
        for job_id in (slow_job, closed_job):
            assert (await client.post(f"/v1/jobs/{job_id}/cancel", headers=auth("user_admin"))).status_code == 200
        await _drain(database_url, settings, rounds=40)
    slow_answer = await wait_for(client, slow_job, settled())
    closed_answer = await wait_for(client, closed_job, settled())
    for answer in (slow_answer, closed_answer):
        [delivery] = answer["webhookDeliveries"]
        assert delivery["state"] == "failed"
        assert [(a["statusCode"], a["error"]) for a in delivery["attempts"]] == [(None, "no_answer")] * 2


async def test_a_loopback_callback_is_refused_without_the_allow_setting(
    client: httpx.AsyncClient, database_url: str, tmp_path: Path
) -> None:
    """The API (allowed to reach loopback here) accepts http://127.0.0.1 and a name that
    resolves to it; a delivery loop without JOBRUNNER_OUTBOUND_ALLOWED_NETWORKS refuses
    both at connect time: recorded once, not retried, nothing sent."""
    strict = webhook_settings(tmp_path, outbound_allowed_networks=[])
    secret = await signing_secret(client)
    with http_receiver("", check=verifier(secret)) as receiver:
        port = receiver.url.split(":")[2].split("/")[0]
        jobs = []
        for url in (receiver.url, f"http://localhost:{port}/hook"):
            job_id = await start(client, QUICK, callbackUrl=url, scheduledAt="2999-01-01T00:00:00Z")
            assert (await client.post(f"/v1/jobs/{job_id}/cancel", headers=auth("user_admin"))).status_code == 200
            jobs.append(job_id)
        await _drain(database_url, strict, rounds=5)
        assert receiver.received == []
    for job_id in jobs:
        answer = await wait_for(client, job_id, settled())
        [delivery] = answer["webhookDeliveries"]
        assert delivery["state"] == "failed"
        assert [(a["statusCode"], a["error"]) for a in delivery["attempts"]] == [(None, "destination_not_allowed")]


async def test_a_literal_loopback_callback_is_a_422_without_the_allow_setting(
    database_url: str, tmp_path: Path
) -> None:
    from jobrunner.app import create_app
    from tests.conftest import JWT_SECRET

    app = create_app(webhook_settings(tmp_path, outbound_allowed_networks=[]), database_url, JWT_SECRET)
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
            for url in ("http://127.0.0.1:8080/hook", "http://[::1]/hook", "http://2130706433/", "http://10.0.0.7/"):
                response = await client.post(
                    "/v1/jobs",
                    json={"jobType": "test_work", "payload": QUICK, "callbackUrl": url},
                    headers=auth("user_admin"),
                )
                body = assert_problem(response, 422)
                assert body["errors"][0]["loc"] == "callbackUrl", body
                assert "not allowed" in body["errors"][0]["message"]


async def test_two_delivery_loops_never_send_one_attempt_twice(
    client: httpx.AsyncClient, database_url: str, tmp_path: Path, pool: asyncpg.Pool
) -> None:
    settings = webhook_settings(tmp_path, callback_concurrency=3)
    secret = await signing_secret(client)
    with http_receiver("", check=verifier(secret)) as receiver:
        ids = []
        for _ in range(12):
            job_id = await start(client, QUICK, callbackUrl=receiver.url, scheduledAt="2999-01-01T00:00:00Z")
            assert (await client.post(f"/v1/jobs/{job_id}/cancel", headers=auth("user_admin"))).status_code == 200
            ids.append(job_id)
        await asyncio.gather(_drain(database_url, settings, rounds=10), _drain(database_url, settings, rounds=10))
        message_ids = [r.headers["webhook-id"] for r in receiver.received]
    assert len(message_ids) == 12 and len(set(message_ids)) == 12
    states = await pool.fetch("SELECT state, attempt_count FROM webhook_deliveries")
    assert [(row["state"], row["attempt_count"]) for row in states] == [("delivered", 1)] * 12


async def _drain(database_url: str, settings, rounds: int) -> None:
    """A delivery loop of its own (its own pool and settings), run round by round."""
    pool = await create_pool(database_url, min_size=1, max_size=2)
    try:
        async with outbound_client(settings) as outbound:
            dispatcher = Dispatcher(pool, settings, outbound, secret_box(settings), f"test-{uuid.uuid4().hex[:6]}")
            for _ in range(rounds):
                if not await dispatcher.run_once():
                    await asyncio.sleep(0.05)
    finally:
        await pool.close()
