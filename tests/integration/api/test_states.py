"""The state table (canCancel/canRetry per state), 409s, races between real concurrent
requests, and the audit rows written with each change."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from tests.integration.api.conftest import assert_problem, auth, set_state, state_columns

STATE_TABLE = {
    # status: (canCancel, canRetry)
    "queued": (True, False),
    "running": (True, False),
    "succeeded": (False, False),
    "failed": (False, True),
    "cancelled": (False, False),
    "retrying": (True, False),
}


@pytest.mark.parametrize("status", sorted(STATE_TABLE))
async def test_state_table(client, create_job, db, status):
    job_id = await create_job()
    await set_state(db, job_id, **state_columns(status))
    answer = (await client.get(f"/v1/jobs/{job_id}/status", headers=auth("user_admin"))).json()
    assert answer["job"]["status"] == status
    assert (answer["canCancel"], answer["canRetry"]) == STATE_TABLE[status]

    retry = await client.post(f"/v1/jobs/{job_id}/retry", headers=auth("user_admin"))
    assert retry.status_code == (200 if STATE_TABLE[status][1] else 409)
    if retry.status_code == 409:
        assert_problem(retry, 409)
        cancel = await client.post(f"/v1/jobs/{job_id}/cancel", headers=auth("user_admin"))
        assert cancel.status_code == (200 if STATE_TABLE[status][0] else 409)


async def test_failed_with_retries_exhausted_cannot_retry(client, create_job, db):
    job_id = await create_job()
    await set_state(db, job_id, **state_columns("failed"), retry_count=3)
    answer = (await client.get(f"/v1/jobs/{job_id}/status", headers=auth("user_admin"))).json()
    assert (answer["canCancel"], answer["canRetry"]) == (False, False)
    assert_problem(await client.post(f"/v1/jobs/{job_id}/retry", headers=auth("user_admin")), 409)
    zero = await create_job(
        body={"jobType": "export_report", "payload": {"reportType": "q", "format": "csv"}, "maxRetries": 0}
    )
    await set_state(db, zero, **state_columns("failed"))
    assert_problem(await client.post(f"/v1/jobs/{zero}/retry", headers=auth("user_admin")), 409)


async def test_cancel_keeps_locked_by_for_the_worker(client, create_job, db):
    job_id = await create_job()
    await set_state(db, job_id, **state_columns("running"))
    listener = await asyncio.wait_for(_listen(db, "jobrunner_cancel"), 5)
    assert (await client.post(f"/v1/jobs/{job_id}/cancel", headers=auth("user_admin"))).status_code == 200
    assert await asyncio.wait_for(listener.get(), 5) == job_id
    row = await db.fetchrow("SELECT status, locked_by FROM jobs WHERE id = $1", uuid.UUID(job_id))
    assert (row["status"], row["locked_by"]) == ("cancelled", "w1")


async def test_retry_wakes_workers(client, create_job, db):
    job_id = await create_job()
    await set_state(db, job_id, **state_columns("failed"))
    listener = await _listen(db, "jobrunner_jobs")
    assert (await client.post(f"/v1/jobs/{job_id}/retry", headers=auth("user_admin"))).status_code == 200
    assert await asyncio.wait_for(listener.get(), 5) == ""


async def _listen(db, channel: str) -> asyncio.Queue:
    queue: asyncio.Queue = asyncio.Queue()
    await db.add_listener(channel, lambda *args: queue.put_nowait(args[3]))
    return queue


async def test_concurrent_cancels_one_wins(client, create_job, db):
    for _ in range(5):
        job_id = await create_job()
        await set_state(db, job_id, **state_columns("running"))
        responses = await asyncio.gather(
            *[client.post(f"/v1/jobs/{job_id}/cancel", headers=auth("user_admin")) for _ in range(6)]
        )
        assert sorted(r.status_code for r in responses) == [200] + [409] * 5
        audits = await db.fetchval(
            "SELECT count(*) FROM audit_logs WHERE job_id = $1 AND action = 'job.cancelled'", uuid.UUID(job_id)
        )
        assert audits == 1


async def test_cancel_racing_retry_ends_consistent(client, create_job, db):
    """Retry (failed -> queued) then cancel (queued -> cancelled) may both win in that
    order; cancel can never win first (failed is not cancellable). Whatever the order,
    the row satisfies the schema's invariants and the audit log matches the outcome."""
    outcomes = set()
    for _ in range(8):
        job_id = await create_job()
        await set_state(db, job_id, **state_columns("failed"))
        retry, cancel = await asyncio.gather(
            client.post(f"/v1/jobs/{job_id}/retry", headers=auth("user_admin")),
            client.post(f"/v1/jobs/{job_id}/cancel", headers=auth("user_admin")),
        )
        status = await db.fetchval("SELECT status::text FROM jobs WHERE id = $1", uuid.UUID(job_id))
        outcomes.add((retry.status_code, cancel.status_code, status))
        actions = await db.fetch(
            "SELECT action FROM audit_logs WHERE job_id = $1 AND action <> 'job.created' ORDER BY id",
            uuid.UUID(job_id),
        )
        expected = (["job.retried"] if retry.status_code == 200 else []) + (
            ["job.cancelled"] if cancel.status_code == 200 else []
        )
        assert [a["action"] for a in actions] == expected
    assert outcomes <= {(200, 409, "queued"), (200, 200, "cancelled")}


async def test_racing_cancel_and_retry_on_separate_connections(create_job, database_url, client):
    """The same guarded statements from two independent apps (two pools) at once."""
    from jobrunner.app import create_app
    from jobrunner.settings import Settings
    from tests.conftest import JWT_SECRET
    import httpx

    job_id = await create_job()
    second = create_app(Settings(pool_min_size=1, pool_max_size=2), database_url, JWT_SECRET)
    async with second.router.lifespan_context(second):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=second), base_url="http://t") as other:
            responses = await asyncio.gather(
                client.post(f"/v1/jobs/{job_id}/cancel", headers=auth("user_admin")),
                other.post(f"/v1/jobs/{job_id}/cancel", headers=auth("user_admin")),
            )
    assert sorted(r.status_code for r in responses) == [200, 409]


async def test_audit_rows(client, create_job, db):
    job_id = await create_job("user_member")
    await set_state(db, job_id, **state_columns("failed"))
    await client.post(f"/v1/jobs/{job_id}/retry", headers=auth("user_member"))
    await client.post(f"/v1/jobs/{job_id}/cancel", headers=auth("user_member"))
    rows = await db.fetch(
        "SELECT organization_id, user_id, actor, action, job_id, details, created_at FROM audit_logs"
        " WHERE organization_id = $1 AND job_id = $2 ORDER BY id",
        "org_acme",
        uuid.UUID(job_id),
    )
    assert [r["action"] for r in rows] == ["job.created", "job.retried", "job.cancelled"]
    for row in rows:
        assert (row["organization_id"], row["user_id"], row["actor"]) == ("org_acme", "user_member", "user")
        assert row["created_at"] is not None
    assert rows[0]["details"]["jobType"] == "export_report"
    assert rows[1]["details"] == {"retryCount": 1}
