"""Completion webhooks delivered to a real receiver on loopback: signed in the Standard
Webhooks format (verified with the standardwebhooks library), retried on 5xx with
backoff, one delivery per final state, whoever made it final; attempts visible in the
job's status."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
import httpx

from jobrunner.db.sql import Q
from jobrunner.observability.metrics import REGISTRY
from jobrunner.worker.rescuer import Rescuer
from tests.integration.api.conftest import auth
from tests.integration.webhooks.conftest import QUICK, settled, signing_secret, start, verifier, wait_for
from tests.support.jobs import execute_unchecked
from tests.support.receivers import http_receiver


def _count(outcome: str) -> float:
    return REGISTRY.get_sample_value("jobrunner_webhook_deliveries_total", {"outcome": outcome}) or 0.0


async def test_fails_twice_then_accepts_three_attempts_one_delivery(client: httpx.AsyncClient, worker) -> None:
    secret = await signing_secret(client)
    before = {outcome: _count(outcome) for outcome in ("delivered", "retried")}
    with http_receiver("", script=[500, 500], check=verifier(secret)) as receiver:
        job_id = await start(client, QUICK, callbackUrl=receiver.url)
        answer = await wait_for(client, job_id, settled())
        await asyncio.sleep(0.3)  # nothing more arrives
        received = list(receiver.received)

    assert answer["job"]["status"] == "succeeded"
    assert answer["job"]["callbackUrl"] == receiver.url
    [delivery] = answer["webhookDeliveries"]
    assert delivery["type"] == "job.succeeded" and delivery["state"] == "delivered"
    assert delivery["nextAttemptAt"] is None
    assert [a["statusCode"] for a in delivery["attempts"]] == [500, 500, 200]
    assert all(a["error"] is None and a["durationMs"] >= 0 for a in delivery["attempts"])
    # Three requests, every one signed correctly, the same message id and body each time.
    assert [r.status for r in received] == [500, 500, 200]
    assert all(r.signature_ok for r in received)
    assert {r.headers["webhook-id"] for r in received} == {delivery["id"]}
    assert len({r.body for r in received}) == 1
    message = received[-1].json()
    assert message["type"] == "job.succeeded"
    assert message["timestamp"] == delivery["createdAt"]
    assert message["data"]["id"] == job_id and message["data"]["status"] == "succeeded"
    # The data is the status endpoint's job object (as it was when the job finished).
    assert set(message["data"]) == set(answer["job"])
    assert message["data"]["result"] == answer["job"]["result"]
    assert received[-1].headers["content-type"] == "application/json"
    assert _count("delivered") - before["delivered"] == 1
    assert _count("retried") - before["retried"] == 2


async def test_a_forged_or_stale_signature_does_not_verify(client: httpx.AsyncClient, worker) -> None:
    """The library really checks: another organization's secret does not verify."""
    ours = await signing_secret(client)
    theirs = await signing_secret(client, "user_globex")
    assert ours != theirs and ours.startswith("whsec_")
    with http_receiver("", check=verifier(theirs)) as receiver:
        job_id = await start(client, QUICK, callbackUrl=receiver.url)
        answer = await wait_for(client, job_id, settled())
    # The receiver refused it (401, not retried): recorded as failed.
    [delivery] = answer["webhookDeliveries"]
    assert delivery["state"] == "failed"
    assert [a["statusCode"] for a in delivery["attempts"]] == [401]
    assert not receiver.received[0].signature_ok


async def test_each_final_state_is_delivered_once(client: httpx.AsyncClient, worker) -> None:
    """failed -> manual retry -> succeeded: two deliveries, one per final state."""
    secret = await signing_secret(client)
    with http_receiver("", check=verifier(secret)) as receiver:
        job_id = await start(client, {"fail": "permanent", "record": False}, callbackUrl=receiver.url, maxRetries=1)
        failed = await wait_for(client, job_id, settled(1))
        assert failed["job"]["status"] == "failed"
        # Run it again (it will fail again: permanent); a second final state, a second webhook.
        response = await client.post(f"/v1/jobs/{job_id}/retry", headers=auth("user_admin"))
        assert response.status_code == 200, response.text
        answer = await wait_for(client, job_id, settled(2))
        await asyncio.sleep(0.3)
        types = [r.json()["type"] for r in receiver.received]
    assert types == ["job.failed", "job.failed"]
    assert [d["type"] for d in answer["webhookDeliveries"]] == ["job.failed", "job.failed"]
    assert len({d["id"] for d in answer["webhookDeliveries"]}) == 2
    assert all(d["state"] == "delivered" for d in answer["webhookDeliveries"])
    assert receiver.received[0].json()["data"]["errorMessage"]


async def test_cancel_through_the_api_delivers(client: httpx.AsyncClient, worker) -> None:
    secret = await signing_secret(client)
    with http_receiver("", check=verifier(secret)) as receiver:
        job_id = await start(client, {"seconds": 30, "record": False}, callbackUrl=receiver.url)
        await wait_for(client, job_id, lambda a: a["job"]["status"] == "running")
        response = await client.post(f"/v1/jobs/{job_id}/cancel", headers=auth("user_admin"))
        assert response.status_code == 200, response.text
        answer = await wait_for(client, job_id, settled())
        await asyncio.sleep(0.3)
        [request] = receiver.received
    assert request.signature_ok
    assert request.json()["type"] == "job.cancelled"
    assert request.json()["data"]["status"] == "cancelled"
    assert answer["webhookDeliveries"][0]["state"] == "delivered"


async def test_a_queued_job_cancelled_delivers_too(client: httpx.AsyncClient, worker) -> None:
    secret = await signing_secret(client)
    with http_receiver("", check=verifier(secret)) as receiver:
        job_id = await start(client, QUICK, callbackUrl=receiver.url, scheduledAt="2999-01-01T00:00:00Z")
        response = await client.post(f"/v1/jobs/{job_id}/cancel", headers=auth("user_admin"))
        assert response.status_code == 200, response.text
        answer = await wait_for(client, job_id, settled())
    assert [r.json()["type"] for r in receiver.received] == ["job.cancelled"]
    assert answer["webhookDeliveries"][0]["state"] == "delivered"


async def test_the_rescuer_making_a_job_final_delivers(
    client: httpx.AsyncClient, worker, pool: asyncpg.Pool, settings
) -> None:
    """A job whose worker died with no retries left: the rescuer fails it, a webhook goes."""
    secret = await signing_secret(client)
    with http_receiver("", check=verifier(secret)) as receiver:
        job_id = await start(client, QUICK, callbackUrl=receiver.url, scheduledAt="2999-01-01T00:00:00Z")
        await execute_unchecked(
            pool,
            "UPDATE jobs SET status = 'running', locked_by = 'ghost', locked_at = now() - interval '1 hour',"
            " started_at = now(), retry_count = max_retries, attempts = 1, scheduled_at = NULL WHERE id = $1",
            uuid.UUID(job_id),
        )
        rescued = await Rescuer(pool, settings).run_once()
        assert [(str(r.job_id), r.status.value) for r in rescued] == [(job_id, "failed")]
        answer = await wait_for(client, job_id, settled())
    assert answer["job"]["status"] == "failed"
    assert [r.json()["type"] for r in receiver.received] == ["job.failed"]


async def test_jobs_without_a_callback_have_no_deliveries(client: httpx.AsyncClient, worker, pool) -> None:
    job_id = await start(client, QUICK)
    answer = await wait_for(client, job_id, lambda a: a["job"]["status"] == "succeeded")
    assert answer["job"]["callbackUrl"] is None
    assert "webhookDeliveries" not in answer
    assert await pool.fetchval("SELECT count(*) FROM webhook_deliveries") == 0


async def test_the_organization_default_applies_to_new_jobs(client: httpx.AsyncClient, worker) -> None:
    secret = await signing_secret(client)
    with http_receiver("", check=verifier(secret)) as receiver:
        response = await client.put(
            "/v1/settings/webhook", json={"callbackUrl": receiver.url}, headers=auth("user_admin")
        )
        assert response.status_code == 200, response.text
        assert response.json()["callbackUrl"] == receiver.url
        job_id = await start(client, QUICK, user="user_member")
        answer = await wait_for(client, job_id, settled(), user="user_member")
        # Another organization's jobs do not use it.
        other = await start(client, QUICK, user="user_globex")
        other_answer = await wait_for(client, other, lambda a: a["job"]["status"] == "succeeded", user="user_globex")
    assert answer["job"]["callbackUrl"] == receiver.url
    assert [r.json()["data"]["id"] for r in receiver.received] == [job_id]
    assert other_answer["job"]["callbackUrl"] is None


async def test_secret_rotation_signs_with_both_secrets_for_a_while(client: httpx.AsyncClient, worker) -> None:
    old = await signing_secret(client)
    response = await client.post("/v1/settings/webhook/rotate-secret", headers=auth("user_admin"))
    assert response.status_code == 200, response.text
    new = response.json()["signingSecret"]
    assert new != old and response.json()["previousSecretExpiresAt"] is not None
    with http_receiver("", check=verifier(old)) as old_receiver, http_receiver("", check=verifier(new)) as receiver:
        first = await start(client, QUICK, callbackUrl=old_receiver.url)
        second = await start(client, QUICK, callbackUrl=receiver.url)
        await wait_for(client, first, settled())
        await wait_for(client, second, settled())
    assert [r.status for r in old_receiver.received] == [200]  # a receiver still on the old secret
    assert [r.status for r in receiver.received] == [200]
    assert len(receiver.received[0].headers["webhook-signature"].split(" ")) == 2


async def test_an_outbox_row_is_written_with_the_final_state(pool: asyncpg.Pool) -> None:
    """The trigger: same transaction as the final state, nothing for other changes."""
    from tests.support.jobs import insert_job

    job_id = await insert_job(pool, payload=QUICK)
    await execute_unchecked(pool, "UPDATE jobs SET callback_url = 'https://example.com/h' WHERE id = $1", job_id)
    async with pool.acquire() as conn:
        tx = conn.transaction()
        await tx.start()
        await conn.execute(Q.cancel_job, "org_acme", "user_admin", job_id)
        assert await conn.fetchval("SELECT count(*) FROM webhook_deliveries WHERE job_id = $1", job_id) == 1
        await tx.rollback()
    assert await pool.fetchval("SELECT count(*) FROM webhook_deliveries") == 0
    await execute_unchecked(pool, "UPDATE jobs SET progress = 5 WHERE id = $1", job_id)
    assert await pool.fetchval("SELECT count(*) FROM webhook_deliveries") == 0
    await pool.execute(Q.cancel_job, "org_acme", "user_admin", job_id)
    row = await pool.fetchrow("SELECT event, url, state FROM webhook_deliveries WHERE job_id = $1", job_id)
    assert dict(row) == {"event": "job.cancelled", "url": "https://example.com/h", "state": "pending"}
