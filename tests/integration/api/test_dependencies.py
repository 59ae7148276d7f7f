"""Job dependencies through the API: a job created with ``dependsOn`` waits (queued,
``blockedBy``) until its dependencies succeed, never reaches the claim meanwhile, and is
cancelled with an error naming the dependency when one fails or is cancelled (by a
worker's outcome, the rescuer, the API or the console). Outcomes are written with the
engine's own statements (claim_jobs, finish_jobs, rescue_jobs)."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import asyncpg
import httpx
import pytest

from jobrunner.db.pool import connect
from jobrunner.db.sql import Q
from tests.integration.api.conftest import EXPORT_BODY, auth

WORKER = "w-deps"
NOTIFY_BODY = {
    "jobType": "notification",
    "payload": {"channel": "email", "recipients": ["user_admin"], "template": "export_ready"},
}

# job_queue_orgs against a recount of what is ready (queued/retrying, unheld, not blocked).
RECOUNT = """
SELECT coalesce(array_agg(row(organization_id, ready)::text ORDER BY organization_id), '{}') FROM (
    SELECT organization_id, count(*) AS ready FROM jobs
     WHERE status IN ('queued', 'retrying') AND locked_by IS NULL AND blocked_by = 0 GROUP BY organization_id) c"""
COUNTED = """
SELECT coalesce(array_agg(row(organization_id, ready)::text ORDER BY organization_id), '{}')
  FROM job_queue_orgs WHERE ready > 0"""


async def create(client: httpx.AsyncClient, body: dict[str, Any], user: str = "user_admin") -> httpx.Response:
    return await client.post("/v1/jobs", json=body, headers=auth(user))


async def created(client: httpx.AsyncClient, body: dict[str, Any], user: str = "user_admin") -> str:
    response = await create(client, body, user)
    assert response.status_code == 202, response.text
    return response.json()["jobId"]


async def job(client: httpx.AsyncClient, job_id: str, user: str = "user_admin") -> dict[str, Any]:
    response = await client.get(f"/v1/jobs/{job_id}/status", headers=auth(user))
    assert response.status_code == 200, response.text
    return response.json()["job"]


async def claim(db: asyncpg.Connection, limit: int = 50) -> set[str]:
    return {str(row["id"]) for row in await db.fetch(Q.claim_jobs, WORKER, limit, 5)}


async def finish(db: asyncpg.Connection, job_id: str, status: str, error: str | None = None) -> None:
    result = {"ok": True} if status == "succeeded" else None
    ids = await db.fetch(Q.finish_jobs, WORKER, [uuid.UUID(job_id)], [status], [result], [error], [0.0], [0])
    assert len(ids) == 1


def depending(*ids: str, **named: str) -> dict[str, Any]:
    return {**NOTIFY_BODY, "dependsOn": [*ids, *({"jobId": i, "as": n} for n, i in named.items())]}


async def test_waits_unseen_by_the_claim_until_its_dependency_succeeds(client, db) -> None:
    export = await created(client, EXPORT_BODY)
    notify = await created(client, depending(export=export))
    shown = await job(client, notify)
    assert shown["status"] == "queued" and shown["blockedBy"] == 1
    assert shown["dependsOn"] == [{"jobId": export, "as": "export"}]
    assert (await job(client, export))["dependsOn"] == [] and (await job(client, export))["blockedBy"] == 0
    # The claim sees the export only, however often it asks; the counts agree.
    assert await db.fetchval(COUNTED) == await db.fetchval(RECOUNT)
    assert await claim(db) == {export}
    assert await claim(db) == set()
    await finish(db, export, "succeeded")
    shown = await job(client, notify)
    assert shown["status"] == "queued" and shown["blockedBy"] == 0
    assert await db.fetchval(COUNTED) == await db.fetchval(RECOUNT)
    assert await claim(db) == {notify}


async def test_waits_for_all_of_its_dependencies(client, db) -> None:
    first, second = await created(client, EXPORT_BODY), await created(client, EXPORT_BODY)
    waiting = await created(client, depending(a=first, b=second))
    assert (await job(client, waiting))["blockedBy"] == 2
    assert await claim(db) == {first, second}
    await finish(db, first, "succeeded")
    assert (await job(client, waiting))["blockedBy"] == 1
    assert await claim(db) == set()
    await finish(db, second, "succeeded")
    assert await claim(db) == {waiting}


async def test_a_failed_dependency_cancels_its_dependants_in_chain(client, db) -> None:
    export = await created(client, EXPORT_BODY)
    middle = await created(client, depending(export=export))
    last = await created(client, {**depending(step=middle), "payload": NOTIFY_BODY["payload"]})
    other = await created(client, EXPORT_BODY)
    bystander = await created(client, depending(other=other))
    assert await claim(db) == {export, other}
    await finish(db, export, "failed", "Invalid export job payload: no such report")
    shown = await job(client, middle)
    assert shown["status"] == "cancelled" and shown["completedAt"] is not None
    assert shown["errorMessage"] == f"Cancelled: its dependency export (job {export}, export_report) failed"
    shown = await job(client, last)
    assert shown["status"] == "cancelled"
    assert shown["errorMessage"] == f"Cancelled: its dependency step (job {middle}, notification) cancelled"
    assert (await job(client, bystander))["status"] == "queued"
    audit = await db.fetch(
        "SELECT job_id, actor, details FROM audit_logs WHERE action = 'job.cancelled' ORDER BY id",
    )
    assert [(str(r["job_id"]), r["actor"]) for r in audit] == [(middle, "system"), (last, "system")]
    assert audit[0]["details"] == {"reason": "dependency", "dependency": export, "dependencyStatus": "failed"}
    assert await db.fetchval(COUNTED) == await db.fetchval(RECOUNT)
    # Retrying the failed export does not bring its dependants back.
    response = await client.post(f"/v1/jobs/{export}/retry", headers=auth("user_admin"))
    assert response.status_code == 200
    assert await claim(db) == {export}
    await finish(db, export, "succeeded")
    assert (await job(client, middle))["status"] == "cancelled"


async def test_a_retry_in_between_keeps_the_dependant_waiting(client, db) -> None:
    export = await created(client, EXPORT_BODY)
    notify = await created(client, depending(export=export))
    assert await claim(db) == {export}
    await db.fetch(Q.finish_jobs, WORKER, [uuid.UUID(export)], ["retrying"], [None], ["boom"], [0.0], [1])
    assert (await job(client, notify))["status"] == "queued"
    assert await claim(db) == {export}
    await finish(db, export, "succeeded")
    assert await claim(db) == {notify}


@pytest.mark.parametrize("holder", ["api", "console"])
async def test_cancelling_a_dependency_cancels_its_dependants(client, db, holder: str) -> None:
    export = await created(client, EXPORT_BODY)
    notify = await created(client, depending(export=export))
    if holder == "api":
        response = await client.post(f"/v1/jobs/{export}/cancel", headers=auth("user_admin"))
    else:
        response = await client.post("/v1/admin/jobs/cancel", json={"jobIds": [export]}, headers=auth("user_admin"))
    assert response.status_code == 200, response.text
    shown = await job(client, notify)
    assert shown["status"] == "cancelled"
    assert shown["errorMessage"] == f"Cancelled: its dependency export (job {export}, export_report) cancelled"


async def test_a_dependency_failed_by_the_rescuer_cancels_its_dependants(client, db) -> None:
    export = await created(client, EXPORT_BODY)
    notify = await created(client, depending(export=export))
    assert await claim(db) == {export}
    rescued = await db.fetch(Q.rescue_jobs, [uuid.UUID(export)], [WORKER], ["failed"], ["worker died"], [0.0])
    assert len(rescued) == 1
    assert (await job(client, notify))["status"] == "cancelled"


async def test_cancelling_the_waiting_job_itself(client, db) -> None:
    export = await created(client, EXPORT_BODY)
    notify = await created(client, depending(export=export))
    response = await client.post(f"/v1/jobs/{notify}/cancel", headers=auth("user_admin"))
    assert response.status_code == 200
    assert await claim(db) == {export}
    await finish(db, export, "succeeded")  # nothing to unblock: it stays cancelled
    shown = await job(client, notify)
    assert shown["status"] == "cancelled" and shown["errorMessage"] is None
    assert await db.fetchval(COUNTED) == await db.fetchval(RECOUNT)


async def test_dependencies_already_final_at_creation(client, db) -> None:
    done, failed, cancelled = [await created(client, EXPORT_BODY) for _ in range(3)]
    assert await claim(db) == {done, failed, cancelled}
    await finish(db, done, "succeeded")
    await finish(db, failed, "failed", "boom")
    assert (await client.post(f"/v1/jobs/{cancelled}/cancel", headers=auth("user_admin"))).status_code == 200
    # Succeeded: met at once, the job is ready.
    ready = await created(client, depending(done))
    shown = await job(client, ready)
    assert shown["blockedBy"] == 0 and shown["dependsOn"] == [{"jobId": done, "as": "export_report"}]
    assert await claim(db) == {ready}
    # Failed or cancelled: created and cancelled at once, as if it had ended a moment
    # later (the outcome does not depend on which came first), in the same transaction.
    for refused, status in ((failed, "failed"), (cancelled, "cancelled")):
        doomed = await created(client, depending(done, named=refused))
        shown = await job(client, doomed)
        assert shown["status"] == "cancelled" and shown["completedAt"] is not None, shown
        assert shown["errorMessage"] == f"Cancelled: its dependency named (job {refused}, export_report) {status}"
        history = await db.fetch(
            "SELECT actor, action FROM audit_logs WHERE job_id = $1 ORDER BY id", uuid.UUID(doomed)
        )
        assert [(r["actor"], r["action"]) for r in history] == [("user", "job.created"), ("system", "job.cancelled")]
    assert await claim(db) == set()
    assert await db.fetchval(COUNTED) == await db.fetchval(RECOUNT)


async def test_dependencies_of_other_users_and_organizations_are_not_found(client, db) -> None:
    mine = await created(client, EXPORT_BODY)
    members = await created(client, EXPORT_BODY, user="user_member")
    globex = await created(client, EXPORT_BODY, user="user_globex")
    for other in (members, globex, str(uuid.uuid4())):
        response = await create(client, depending(mine, other))
        assert response.status_code == 404, response.text
        assert response.headers["content-type"] == "application/problem+json"
        assert other not in response.text  # says which entry, not whose job it is
    # Nothing was marked or created on the way.
    assert await db.fetchval("SELECT count(*) FROM jobs WHERE has_dependants") == 0
    assert await db.fetchval("SELECT count(*) FROM jobs") == 3


async def test_depending_needs_the_view_permission(client, db) -> None:
    mine = await created(client, EXPORT_BODY, user="user_member")
    await db.execute("DELETE FROM role_permissions WHERE role_name = 'member' AND permission_name = 'jobs.view_jobs'")
    response = await create(client, {**EXPORT_BODY, "dependsOn": [mine]}, user="user_member")
    assert response.status_code == 403, response.text
    assert "jobs.view_jobs" in response.json()["detail"]
    await created(client, EXPORT_BODY, user="user_member")  # without dependsOn: as before
    # A viewer may not create at all.
    response = await create(client, {**EXPORT_BODY, "dependsOn": [mine]}, user="user_viewer")
    assert response.status_code == 403


@pytest.mark.parametrize(
    ("depends_on", "loc"),
    [
        (["not-a-uuid"], "dependsOn.0"),
        ([{"jobId": str(uuid.uuid4()), "as": "1st"}], "dependsOn.0"),
        ([{"jobId": str(uuid.uuid4()), "as": "x" * 51}], "dependsOn.0"),
        ([{"jobId": str(uuid.uuid4()), "extra": 1}], "dependsOn.0"),
        ([str(uuid.uuid4()) for _ in range(21)], "dependsOn"),
        ("550e8400-e29b-41d4-a716-446655440000", "dependsOn"),
        (["550e8400-e29b-41d4-a716-446655440000", {"jobId": "550e8400-e29b-41d4-a716-446655440000"}], "dependsOn"),
    ],
)
async def test_malformed_dependencies_are_422(client, depends_on: Any, loc: str) -> None:
    response = await create(client, {**EXPORT_BODY, "dependsOn": depends_on})
    assert response.status_code == 422, response.text
    assert any(error["loc"].startswith(loc) for error in response.json()["errors"]), response.json()


async def test_two_dependencies_may_not_share_a_name(client) -> None:
    first, second = await created(client, EXPORT_BODY), await created(client, EXPORT_BODY)
    response = await create(client, depending(first, second))  # both named export_report
    assert response.status_code == 422
    assert response.json()["errors"] == [
        {"loc": "dependsOn.1.as", "message": "the name 'export_report' is taken; give each dependency an 'as'"}
    ]
    await created(client, depending(first, **{"second": second}))


async def test_the_list_shows_dependencies(client) -> None:
    export = await created(client, EXPORT_BODY)
    notify = await created(client, depending(export=export))
    response = await client.get("/v1/jobs", headers=auth("user_admin"))
    jobs = {j["id"]: j for j in response.json()["jobs"]}
    assert jobs[notify]["dependsOn"] == [{"jobId": export, "as": "export"}] and jobs[notify]["blockedBy"] == 1
    assert jobs[export]["dependsOn"] == [] and jobs[export]["blockedBy"] == 0


@pytest.mark.parametrize("outcome", ["commit", "rollback"])
async def test_creation_waits_for_a_dependency_being_finished(client, db, database_url, outcome: str) -> None:
    """A creation racing the dependency's outcome sees it or is seen by it, never neither:
    marking the dependency waits for the transaction that finishes it."""
    export = await created(client, EXPORT_BODY)
    assert await claim(db) == {export}
    other = await connect(database_url)
    try:
        tx = other.transaction()
        await tx.start()
        await finish(other, export, "succeeded")  # not committed yet
        creating = asyncio.ensure_future(created(client, depending(export=export)))
        await asyncio.sleep(0.5)
        assert not creating.done()  # waits on the dependency's row
        await (tx.commit() if outcome == "commit" else tx.rollback())
        notify = await asyncio.wait_for(creating, 10)
    finally:
        await other.close()
    shown = await job(client, notify)
    assert shown["blockedBy"] == (0 if outcome == "commit" else 1)
    if outcome == "rollback":  # still running: its success later unblocks the new job
        await finish(db, export, "succeeded")
        assert (await job(client, notify))["blockedBy"] == 0
    assert await claim(db) == {notify}
