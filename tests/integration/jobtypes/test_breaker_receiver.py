"""A circuit breaker per organization with a real webhook receiver on loopback that fails,
then recovers: after two transient failures Acme's notifications stop being sent (they wait,
"paused: receiver failing"), Globex's go on; after the cool-down one trial job reaches the
recovered receiver, the breaker closes and every waiting job is delivered."""

from __future__ import annotations

import asyncio
import time

import asyncpg

from tests.integration.jobtypes.conftest import auth, start_job, wait_final
from tests.integration.jobtypes.test_notification import SECRET
from tests.support.receivers import http_receiver

MESSAGE = {"channel": "webhook", "template": "message", "data": {"subject": "Hi", "body": "b"}}


async def configure(client, url: str, user: str) -> None:
    response = await client.put(
        "/v1/integrations/notifications", json={"targetUrl": url, "secret": SECRET}, headers=auth(user)
    )
    assert response.status_code in (200, 201), response.text


async def test_breaker_stops_a_failing_receiver_and_a_trial_closes_it(client, db: asyncpg.Connection, worker) -> None:
    await db.execute(
        "INSERT INTO circuit_breaker_rules (job_type, per_organization, failure_threshold, window_seconds,"
        " cooldown_seconds) VALUES ('notification', true, 2, 60, 2)"
    )
    with http_receiver(SECRET, script=[503, 503]) as acme, http_receiver(SECRET) as globex:
        await configure(client, acme.url, "user_admin")
        await configure(client, globex.url, "user_globex")
        first = await start_job(client, "notification", MESSAGE, maxRetries=5)
        # Two transient failures (503, then its retry's 503): Acme's breaker opens.
        deadline = time.monotonic() + 10
        while await db.fetchval("SELECT state FROM circuit_breakers WHERE organization_id = 'org_acme'") != "open":
            assert time.monotonic() < deadline, "the breaker did not open"
            await asyncio.sleep(0.05)
        assert [r.status for r in acme.received] == [503, 503]
        waiting = [await start_job(client, "notification", MESSAGE) for _ in range(3)]
        activity = (await client.get("/v1/me/activity", headers=auth("user_admin"))).json()
        assert [(p["jobType"], p["reason"]) for p in activity["pausedJobTypes"]] == [
            ("notification", "paused: receiver failing")
        ]
        # Globex's receiver is not Acme's: its notification goes at once.
        theirs = await start_job(client, "notification", MESSAGE, user="user_globex")
        assert (await wait_final(client, theirs, user="user_globex"))["status"] == "succeeded"
        assert (await client.get("/v1/me/activity", headers=auth("user_globex"))).json()["pausedJobTypes"] == []
        # While open, nothing more reaches Acme's receiver.
        await asyncio.sleep(0.5)
        assert len(acme.received) == 2
        # The cool-down ends: one trial reaches the (recovered) receiver, then everything.
        for job_id in [first, *waiting]:
            assert (await wait_final(client, job_id, timeout=20))["status"] == "succeeded"
        assert [r.status for r in acme.received] == [503, 503, 200, 200, 200, 200]
        assert await db.fetchval("SELECT state FROM circuit_breakers WHERE organization_id = 'org_acme'") == "closed"
        assert len(globex.received) == 1
