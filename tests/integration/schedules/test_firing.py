"""The scheduler (``Scheduler.run_once``, as each worker process runs it): one job per
firing, created as the owner under the rules of POST /v1/jobs and linked back
(``scheduleId``); misfire and overlap policies; firings skipped and recorded when the
owner may no longer create the job."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import asyncpg
import httpx
import pytest

from jobrunner.schedules.firing import Scheduler
from jobrunner.settings import Settings
from tests.integration.schedules.conftest import auth

DAILY = {"cron": "0 3 * * *", "timezone": "UTC"}


def scheduler(pool: Any, **settings: Any) -> Scheduler:
    return Scheduler(pool, Settings(**settings))


async def make_due(db: asyncpg.Connection, schedule_id: str, days_ago: int) -> dt.datetime:
    """As if the schedule's next fire time was 03:00 UTC ``days_ago`` days ago."""
    when = await db.fetchval(
        "UPDATE schedules SET next_run_at = date_trunc('day', now()) - make_interval(days => $2) + interval '3 hours'"
        " WHERE id = $1 RETURNING next_run_at",
        uuid.UUID(schedule_id),
        days_ago,
    )
    return when


async def latest_3am(db: asyncpg.Connection) -> dt.datetime:
    return await db.fetchval(
        "SELECT CASE WHEN now() >= date_trunc('day', now()) + interval '3 hours'"
        " THEN date_trunc('day', now()) + interval '3 hours'"
        " ELSE date_trunc('day', now()) - interval '21 hours' END"
    )


async def jobs_of(db: asyncpg.Connection, schedule_id: str) -> list[asyncpg.Record]:
    return await db.fetch("SELECT * FROM jobs WHERE schedule_id = $1 ORDER BY scheduled_for", uuid.UUID(schedule_id))


async def schedule_row(db: asyncpg.Connection, schedule_id: str) -> asyncpg.Record:
    return await db.fetchrow("SELECT * FROM schedules WHERE id = $1", uuid.UUID(schedule_id))


async def test_a_due_firing_creates_one_job_linked_back_to_the_schedule(
    client: httpx.AsyncClient, create_schedule, db: asyncpg.Connection, pool
) -> None:
    schedule = await create_schedule(**DAILY, priority=7, maxRetries=1)
    fire_time = await make_due(db, schedule["id"], 0)
    fire_time = await db.fetchval(
        "UPDATE schedules SET next_run_at = date_trunc('second', now()) WHERE id = $1 RETURNING next_run_at",
        uuid.UUID(schedule["id"]),
    )  # a fire time of the expression or not, the row says when it is due
    assert await scheduler(pool).run_once() == 1
    assert await scheduler(pool).run_once() == 0  # the next fire time is tomorrow
    [job] = await jobs_of(db, schedule["id"])
    assert job["scheduled_for"] == fire_time
    assert (job["user_id"], job["organization_id"], job["job_type"], job["priority"], job["max_retries"]) == (
        "user_admin",
        "org_acme",
        "export_report",
        7,
        1,
    )
    assert job["status"] == "queued" and job["payload"] == schedule["payload"] and job["total_steps"] == 6
    # The owner sees it like any job of theirs, with the link.
    status = (await client.get(f"/v1/jobs/{job['id']}/status", headers=auth("user_admin"))).json()
    assert status["job"]["scheduleId"] == schedule["id"]
    listed = (await client.get("/v1/jobs", headers=auth("user_admin"))).json()
    assert [j["scheduleId"] for j in listed["jobs"]] == [schedule["id"]]
    # The schedule says what happened.
    shown = (await client.get(f"/v1/schedules/{schedule['id']}", headers=auth("user_admin"))).json()
    assert shown["lastJobId"] == str(job["id"]) and shown["lastError"] is None
    assert shown["lastRunAt"] is not None and shown["nextRunAt"] > shown["lastRunAt"]
    audit = await db.fetchrow("SELECT * FROM audit_logs WHERE job_id = $1", job["id"])
    assert (audit["action"], audit["actor"], audit["user_id"]) == ("job.created", "system", "user_admin")
    assert audit["details"]["scheduleId"] == schedule["id"]


async def test_jobs_created_through_the_api_have_no_schedule(client: httpx.AsyncClient, db: asyncpg.Connection) -> None:
    from tests.integration.api.conftest import EXPORT_BODY

    created = await client.post("/v1/jobs", json=EXPORT_BODY, headers=auth("user_member"))
    status = (await client.get(f"/v1/jobs/{created.json()['jobId']}/status", headers=auth("user_member"))).json()
    assert status["job"]["scheduleId"] is None


async def test_missed_firings_run_once_on_recovery_by_default(create_schedule, db: asyncpg.Connection, pool) -> None:
    schedule = await create_schedule(**DAILY)
    await make_due(db, schedule["id"], 5)  # workers were down for five days
    assert await scheduler(pool).run_once() == 1
    [job] = await jobs_of(db, schedule["id"])
    assert job["scheduled_for"] == await latest_3am(db)
    row = await schedule_row(db, schedule["id"])
    assert row["next_run_at"] == job["scheduled_for"] + dt.timedelta(days=1)
    assert row["last_error"] is None
    assert await scheduler(pool).run_once() == 0


async def test_missed_firings_are_dropped_with_misfire_policy_skip(
    create_schedule, db: asyncpg.Connection, pool
) -> None:
    schedule = await create_schedule(**DAILY, misfirePolicy="skip")
    await make_due(db, schedule["id"], 5)
    assert await scheduler(pool).run_once() == 0
    assert await jobs_of(db, schedule["id"]) == []
    row = await schedule_row(db, schedule["id"])
    assert row["next_run_at"] == await latest_3am(db) + dt.timedelta(days=1)
    assert "were skipped (misfirePolicy skip)" in row["last_error"]


async def test_firings_within_the_grace_each_make_their_job(create_schedule, db: asyncpg.Connection, pool) -> None:
    # A round that comes late (but within JOBRUNNER_SCHEDULE_MISFIRE_GRACE_SECONDS) catches up exactly.
    schedule = await create_schedule(**DAILY, misfirePolicy="skip")
    await make_due(db, schedule["id"], 3)
    created = await scheduler(pool, schedule_misfire_grace_seconds=10 * 86400).run_once()
    jobs = await jobs_of(db, schedule["id"])
    assert created == len(jobs) >= 3
    assert [j["scheduled_for"] for j in jobs][-1] == await latest_3am(db)
    assert len({j["scheduled_for"] for j in jobs}) == len(jobs)


async def test_overlap_skip_skips_a_firing_while_the_previous_job_is_active(
    create_schedule, db: asyncpg.Connection, pool
) -> None:
    schedule = await create_schedule(**DAILY, overlap="skip")
    await make_due(db, schedule["id"], 3)
    wide = {"schedule_misfire_grace_seconds": 10 * 86400}
    assert await scheduler(pool, **wide).run_once() == 1  # the first; the others find it queued
    [first] = await jobs_of(db, schedule["id"])
    row = await schedule_row(db, schedule["id"])
    assert "the previous job is still queued or running (overlap skip)" in row["last_error"]
    assert row["last_job_id"] == first["id"]
    # Once it has finished, the next firing runs again.
    await db.execute("UPDATE jobs SET status = 'cancelled', cancelled_at = now(), completed_at = now()")
    await db.execute(
        "UPDATE schedules SET next_run_at = next_run_at - interval '1 day' WHERE id = $1", uuid.UUID(schedule["id"])
    )
    assert await scheduler(pool, **wide).run_once() == 1
    assert (await schedule_row(db, schedule["id"]))["last_error"] is None


async def test_overlap_allow_creates_a_job_per_firing(create_schedule, db: asyncpg.Connection, pool) -> None:
    schedule = await create_schedule(**DAILY)
    await make_due(db, schedule["id"], 2)
    assert await scheduler(pool, schedule_misfire_grace_seconds=10 * 86400).run_once() >= 2


@pytest.mark.parametrize(
    ("revoke", "reason"),
    [
        (
            "UPDATE user_roles SET role_name = 'viewer' WHERE user_id = 'user_admin'",
            "lacks the permission jobs.create_jobs",
        ),
        (
            "DELETE FROM role_permissions WHERE role_name = 'admin' AND permission_name = 'reports.export_reports'",
            "lacks the permission reports.export_reports",
        ),
        (
            "DELETE FROM user_roles WHERE user_id = 'user_admin';"
            " DELETE FROM organization_members WHERE user_id = 'user_admin'",
            "the owner user_admin is no longer a member of the organization",
        ),
    ],
)
async def test_a_firing_is_skipped_and_recorded_when_the_owner_may_no_longer_create_the_job(
    create_schedule, db: asyncpg.Connection, pool, revoke: str, reason: str
) -> None:
    schedule = await create_schedule(**DAILY)
    await make_due(db, schedule["id"], 1)
    await db.execute(revoke)
    assert await scheduler(pool).run_once() == 0
    assert await db.fetchval("SELECT count(*) FROM jobs") == 0
    row = await schedule_row(db, schedule["id"])
    assert reason in row["last_error"] and row["last_error_at"] is not None
    assert row["next_run_at"] > await db.fetchval("SELECT now()")  # it moves on


async def test_the_quotas_of_post_jobs_apply(create_schedule, db: asyncpg.Connection, pool) -> None:
    schedule = await create_schedule(**DAILY)
    await make_due(db, schedule["id"], 1)
    await db.execute("INSERT INTO organization_limits (organization_id, max_queued_jobs) VALUES ('org_acme', 0)")
    assert await scheduler(pool).run_once() == 0
    row = await schedule_row(db, schedule["id"])
    assert "jobs waiting to start, its limit" in row["last_error"]


async def test_a_payload_no_longer_valid_is_skipped_and_recorded(create_schedule, db: asyncpg.Connection, pool) -> None:
    schedule = await create_schedule(**DAILY)
    await make_due(db, schedule["id"], 1)
    await db.execute('UPDATE schedules SET payload = payload || \'{"format": "pdf"}\'')
    assert await scheduler(pool).run_once() == 0
    assert "the payload is no longer valid" in (await schedule_row(db, schedule["id"]))["last_error"]


async def test_paused_schedules_do_not_fire_and_resuming_does_not_make_up(
    client: httpx.AsyncClient, create_schedule, db: asyncpg.Connection, pool
) -> None:
    schedule = await create_schedule(**DAILY)
    await make_due(db, schedule["id"], 5)
    path = f"/v1/schedules/{schedule['id']}"
    await client.patch(path, json={"paused": True}, headers=auth("user_admin"))
    assert await scheduler(pool).run_once() == 0
    resumed = (await client.patch(path, json={"paused": False}, headers=auth("user_admin"))).json()
    assert resumed["nextRunAt"] > dt.datetime.now(dt.UTC).isoformat()[:19]
    assert await scheduler(pool).run_once() == 0


async def test_deleting_a_schedule_keeps_its_jobs_without_the_link(
    client: httpx.AsyncClient, create_schedule, db: asyncpg.Connection, pool
) -> None:
    schedule = await create_schedule(**DAILY)
    await make_due(db, schedule["id"], 1)
    assert await scheduler(pool).run_once() == 1
    await client.delete(f"/v1/schedules/{schedule['id']}", headers=auth("user_admin"))
    [job] = await db.fetch("SELECT * FROM jobs")
    assert job["schedule_id"] is None
    status = (await client.get(f"/v1/jobs/{job['id']}/status", headers=auth("user_admin"))).json()
    assert status["job"]["scheduleId"] is None


async def test_the_database_refuses_a_second_job_for_one_firing(create_schedule, db: asyncpg.Connection, pool) -> None:
    schedule = await create_schedule(**DAILY)
    await make_due(db, schedule["id"], 1)
    assert await scheduler(pool).run_once() == 1
    [job] = await jobs_of(db, schedule["id"])
    with pytest.raises(asyncpg.UniqueViolationError):
        await db.execute(
            "INSERT INTO jobs (organization_id, user_id, job_type, schedule_id, scheduled_for)"
            " VALUES ('org_acme', 'user_admin', 'export_report', $1, $2)",
            job["schedule_id"],
            job["scheduled_for"],
        )


def test_fire_times_follow_the_zones_daylight_saving_changes() -> None:
    from jobrunner.schedules.cron import parse_cron, parse_zone

    paris = parse_zone("Europe/Paris")
    daily = parse_cron("0 6 * * *", paris, allow_seconds=False)
    first = daily.next_after(dt.datetime(2026, 3, 27, 12, tzinfo=dt.UTC))
    second = daily.next_after(first)
    # 06:00 in Paris both days: 05:00 UTC in winter time, 04:00 UTC in summer time.
    assert (first, second) == (dt.datetime(2026, 3, 28, 5, tzinfo=dt.UTC), dt.datetime(2026, 3, 29, 4, tzinfo=dt.UTC))
    before = dt.datetime(2026, 3, 28, 12, tzinfo=dt.UTC)
    # 02:30 does not exist on the spring day: the first moment after it.
    skipped = parse_cron("30 2 * * *", paris, allow_seconds=False).next_after(before)
    assert skipped == dt.datetime(2026, 3, 29, 1, tzinfo=dt.UTC)  # 03:00 summer time


async def test_a_change_that_keeps_the_timing_keeps_the_schedulers_next_run(
    create_schedule, db: asyncpg.Connection, pool
) -> None:
    """A PATCH reads the row, then writes it: a firing in between moved next_run_at on,
    and the write must not put it back (the fire time would come round again)."""
    import dataclasses

    from jobrunner.db.schedules_repository import ScheduleFields, SchedulesRepository

    schedule = await create_schedule(**DAILY)
    repository = SchedulesRepository(pool)
    stale = await repository.get("org_acme", uuid.UUID(schedule["id"]))
    moved = await db.fetchval(
        "UPDATE schedules SET next_run_at = next_run_at + interval '1 day' WHERE id = $1 RETURNING next_run_at",
        uuid.UUID(schedule["id"]),
    )
    fields = ScheduleFields(
        cron=stale["cron"],
        timezone=stale["timezone"],
        job_type=stale["job_type"],
        payload=stale["payload"],
        priority=9,
        max_retries=stale["max_retries"],
        paused=False,
        misfire_policy=stale["misfire_policy"],
        overlap_policy=stale["overlap_policy"],
        next_run_at=stale["next_run_at"],
    )
    kept = await repository.update("org_acme", stale["id"], "user_admin", fields, retimed=False)
    assert (kept["priority"], kept["next_run_at"]) == (9, moved)
    later = dt.datetime(2099, 1, 1, 3, tzinfo=dt.UTC)
    retimed = dataclasses.replace(fields, next_run_at=later)
    assert (await repository.update("org_acme", stale["id"], "user_admin", retimed, retimed=True))["next_run_at"] == later


async def test_a_schedule_that_cannot_fire_is_recorded_and_does_not_block_the_others(
    create_schedule, db: asyncpg.Connection, pool
) -> None:
    broken = await create_schedule(**DAILY)
    fine = await create_schedule(**DAILY)
    await make_due(db, broken["id"], 2)
    await make_due(db, fine["id"], 1)
    # As if its zone had left the tz database since it was saved.
    await db.execute("UPDATE schedules SET timezone = 'Gone/Away' WHERE id = $1", uuid.UUID(broken["id"]))
    assert await scheduler(pool).run_once() == 1
    assert len(await jobs_of(db, fine["id"])) == 1
    row = await schedule_row(db, broken["id"])
    assert row["last_error"].startswith("cannot fire:") and row["next_run_at"] > await db.fetchval("SELECT now()")


async def test_a_fired_job_takes_the_organizations_default_callback_url(
    create_schedule, db: asyncpg.Connection, pool
) -> None:
    """As a job created over the API without one (docs/webhooks.md)."""
    schedule = await create_schedule(**DAILY)
    org = await db.fetchval("SELECT organization_id FROM schedules WHERE id = $1", uuid.UUID(schedule["id"]))
    await db.execute(
        "INSERT INTO organization_webhooks (organization_id, callback_url, secret) VALUES ($1, $2, 'sealed')"
        " ON CONFLICT (organization_id) DO UPDATE SET callback_url = excluded.callback_url",
        org,
        "https://hooks.example.com/jobs",
    )
    await make_due(db, schedule["id"], 0)
    assert await scheduler(pool).run_once() == 1
    [job] = await jobs_of(db, schedule["id"])
    assert job["callback_url"] == "https://hooks.example.com/jobs"
