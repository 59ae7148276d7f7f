"""sync: a receiver on loopback that fails the third batch once; the job goes retrying,
resumes after the last acknowledged batch, and the receiver has every record exactly once.
Later syncs push only what changed."""

from __future__ import annotations

import collections

import asyncpg
import httpx

from tests.integration.jobtypes.conftest import auth, start_job, wait_final
from tests.support.receivers import HttpReceiver, http_receiver

SECRET = "sync-secret-0123456789abcdef"


async def add_customers(db: asyncpg.Connection, count: int, org: str = "org_acme") -> list[int]:
    rows = await db.fetch(
        "INSERT INTO customers (organization_id, name, email, country)"
        " SELECT $1, 'C' || i, gen_random_uuid() || '@example.com', 'DE' FROM generate_series(1, $2) i RETURNING id",
        org,
        count,
    )
    return [row["id"] for row in rows]


async def sync(client: httpx.AsyncClient, dataset: str = "customers", user: str = "user_member") -> dict:
    job_id = await start_job(client, "sync", {"integration": "crm", "dataset": dataset}, user=user)
    return await wait_final(client, job_id, user=user)


def accepted_ids(receiver: HttpReceiver) -> list[int]:
    return [record["id"] for r in receiver.accepted() for record in r.json()["records"]]


async def test_sync_resumes_after_a_failed_batch_and_delivers_each_record_once(client, worker, db) -> None:
    ids = await add_customers(db, 45)
    await add_customers(db, 5, org="org_globex")
    with http_receiver(SECRET, script=[200, 200, 503]) as receiver:
        response = await client.put(
            "/v1/integrations/crm", json={"targetUrl": receiver.url, "secret": SECRET}, headers=auth("user_admin")
        )
        assert response.status_code == 201
        job = await sync(client)
        assert job["status"] == "succeeded", job
        assert "retrying" in job["seen"] and job["retryCount"] == 1
        assert [r.status for r in receiver.received] == [200, 200, 503, 200, 200, 200]
        assert all(r.signature_ok for r in receiver.received)
        # The failed batch was sent again with the same idempotency key.
        assert receiver.received[2].headers["idempotency-key"] == receiver.received[3].headers["idempotency-key"]
        assert len({r.headers["idempotency-key"] for r in receiver.accepted()}) == 5
        delivered = accepted_ids(receiver)
        assert sorted(delivered) == sorted(ids) and len(delivered) == 45  # each exactly once, acme's only
        assert job["result"]["batches"] == 5 and job["result"]["records"] == 45
        last = await db.fetchrow("SELECT id, updated_at FROM customers WHERE id = $1", max(ids))
        assert job["result"]["checkpoint"]["id"] == last["id"]

        # Nothing changed: nothing to push.
        again = await sync(client)
        assert again["result"]["records"] == 0 and len(receiver.received) == 6

        # Three records change, two are new: only those five go.
        await db.execute("UPDATE customers SET name = name || '!', updated_at = now() WHERE id = ANY($1)", ids[:3])
        new = await add_customers(db, 2)
        before = len(receiver.received)
        third = await sync(client)
        assert third["result"]["records"] == 5
        assert sorted(accepted_ids(receiver)[45:]) == sorted(ids[:3] + new)
        assert len(receiver.received) == before + 1
        counts = collections.Counter(accepted_ids(receiver))
        assert max(counts[i] for i in ids[3:]) == 1


async def test_sync_quotes_money_as_exact_decimals(client, worker, db) -> None:
    (customer,) = await add_customers(db, 1)
    await db.execute(
        "INSERT INTO quotes (organization_id, quote_number, customer_id, status, currency, subtotal, tax, total, valid_until)"
        " VALUES ('org_acme', 'Q-1', $1, 'sent', 'EUR', 0.10, 0.20, 0.30, '2025-01-31')",
        customer,
    )
    with http_receiver(SECRET) as receiver:
        await client.put(
            "/v1/integrations/crm", json={"targetUrl": receiver.url, "secret": SECRET}, headers=auth("user_admin")
        )
        job = await sync(client, dataset="quotes")
    assert job["status"] == "succeeded"
    (record,) = receiver.accepted()[0].json()["records"]
    assert (record["subtotal"], record["tax"], record["total"]) == ("0.10", "0.20", "0.30")
    assert record["quoteNumber"] == "Q-1" and record["validUntil"] == "2025-01-31"


async def test_sync_permanent_failures(client, worker, db) -> None:
    await add_customers(db, 3)
    missing = await sync(client)
    assert missing["status"] == "failed" and "no integration named 'crm'" in missing["errorMessage"]
    with http_receiver(SECRET, script=[422]) as receiver:
        await client.put(
            "/v1/integrations/crm", json={"targetUrl": receiver.url, "secret": SECRET}, headers=auth("user_admin")
        )
        refused = await sync(client)
    assert refused["status"] == "failed" and refused["retryCount"] == 0
    assert refused["errorMessage"] == "the receiver answered 422"
    assert await db.fetchval("SELECT count(*) FROM sync_checkpoints") == 0
    response = await client.post(
        "/v1/jobs",
        json={"jobType": "sync", "payload": {"integration": "crm", "dataset": "users"}},
        headers=auth("user_member"),
    )
    assert response.status_code == 422
    response = await client.post(
        "/v1/jobs",
        json={"jobType": "sync", "payload": {"integration": "crm", "dataset": "quotes"}},
        headers=auth("user_viewer"),
    )
    assert response.status_code == 403


async def test_one_sync_per_integration_and_dataset_at_a_time(client, worker, db) -> None:
    from tests.integration.worker.conftest import eventually

    await client.put(
        "/v1/integrations/crm",
        json={"targetUrl": "http://127.0.0.1:9/none", "secret": SECRET},
        headers=auth("user_admin"),
    )
    # Another sync of org_acme/crm/customers is running (on this live worker, so no rescuer
    # takes it) and has claimed the dataset (its sync_runs row).
    holder = await db.fetchval(
        "INSERT INTO jobs (organization_id, user_id, job_type, status, payload, total_steps, locked_by, started_at)"
        " VALUES ('org_acme', 'user_admin', 'sync', 'running', $1, 3, 'jobtypes-test', now()) RETURNING id",
        {"integration": "crm", "dataset": "customers"},
    )
    await db.execute("INSERT INTO sync_runs (job_id) VALUES ($1)", holder)
    job_id = await start_job(client, "sync", {"integration": "crm", "dataset": "customers"}, user="user_member")

    async def retrying() -> object:
        row = await db.fetchrow(
            "SELECT status, error_message, scheduled_at - now() AS wait FROM jobs WHERE id = $1::uuid", job_id
        )
        return row if row["status"] == "retrying" and row["error_message"] else None

    row = await eventually(retrying)
    assert "another sync of crm/customers is running" in row["error_message"]
    assert row["wait"].total_seconds() > 20  # waits for the other sync, not a short backoff
    response = await client.post(f"/v1/jobs/{job_id}/cancel", headers=auth("user_member"))
    assert response.status_code == 200
