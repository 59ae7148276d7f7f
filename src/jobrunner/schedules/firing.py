"""The scheduler: every worker process runs one (``periodic_scheduler``, started beside
the worker in service.py); together they create exactly one job per schedule firing.

Each round takes due schedules one at a time, each in its own transaction:
``lock_due_schedule`` locks the earliest due schedule ``FOR UPDATE SKIP LOCKED`` (another
process skips it and takes the next), the due fire times are worked out from the
database's clock under the misfire policy (``cron.due_firings``), each firing's job is
created under the rules of POST /v1/jobs (the owner's membership and permissions, the
payload check, the quotas, the audit row), and the schedule's next fire time is written
in the same transaction. The unique ``jobs (schedule_id, scheduled_for)`` makes a second
job for one firing impossible, whatever happens."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import uuid
from collections.abc import AsyncIterator
from typing import Any

from jobrunner.auth import rbac
from jobrunner.backoff import backoff_seconds
from jobrunner.background import in_background
from jobrunner.db.errors import DRIVER_ERRORS
from jobrunner.db.jobs_repository import NewJob
from jobrunner.db.pool import FairPool, service_pool
from jobrunner.db.schedules_repository import FiringTransaction, firing_transaction
from jobrunner.domain.errors import InvalidInput, JobrunnerError, QuotaExceeded
from jobrunner.domain.jobtypes import JOB_TYPES
from jobrunner.domain.quotas import JobQuotas
from jobrunner.jobs.validation import validated_payload
from jobrunner.observability.metrics import JOBS_CREATED
from jobrunner.schedules.cron import CRON_ERRORS, Cron, due_firings, parse_cron, parse_zone
from jobrunner.settings import Settings
from jobrunner.timestamps import iso_utc

log = logging.getLogger(__name__)

# Schedules handled per round and process; more wait for the next round.
MAX_SCHEDULES_PER_ROUND = 100
# A stored expression that no longer parses (its time zone left the tz database) is
# looked at again after this long.
BROKEN_RETRY = dt.timedelta(hours=1)
# A stored schedule that cannot be fired (a time zone gone from the tz database, an
# expression with no next fire time in croniter's window).
UNFIREABLE: tuple[type[Exception], ...] = (InvalidInput, *CRON_ERRORS)
# The database is away (or refused): try again next round.
ROUND_ERRORS: tuple[type[BaseException], ...] = (*DRIVER_ERRORS, JobrunnerError)


class Scheduler:
    def __init__(self, pool: Any, settings: Settings) -> None:
        self._pool = pool
        self._settings = settings
        self._grace = dt.timedelta(seconds=settings.schedule_misfire_grace_seconds)
        self._quotas = JobQuotas(settings.quota_max_queued_jobs, settings.quota_max_creations_per_minute)

    async def run_once(self) -> int:
        """One round: every due schedule (up to MAX_SCHEDULES_PER_ROUND); the number of
        jobs created."""
        created = 0
        for _ in range(MAX_SCHEDULES_PER_ROUND):
            async with firing_transaction(self._pool) as tx:
                row = await tx.lock_due_schedule()
                if row is None:
                    break
                created += await self._fire(tx, row)
        return created

    async def _fire(self, tx: FiringTransaction, row: Any) -> int:
        now: dt.datetime = row["now"]
        try:
            cron = _cron_of(row)
            plan = due_firings(cron, row["next_run_at"], now, grace=self._grace, misfire_policy=row["misfire_policy"])
        except UNFIREABLE as exc:
            # Not this schedule's turn to block the others: look again later.
            detail = exc.detail if isinstance(exc, InvalidInput) else "its cron expression has no next fire time"
            await tx.fired(row["id"], now + BROKEN_RETRY, None, None, f"cannot fire: {detail}")
            return 0
        error: str | None = None
        if plan.skipped_missed is not None:
            error = f"missed fire times up to {iso_utc(plan.skipped_missed)} were skipped (misfirePolicy skip)"
        last_run_at: dt.datetime | None = None
        last_job_id: uuid.UUID | None = None
        created = 0
        for fire_time in plan.fire:
            job_id, error = await self._fire_one(tx, row, fire_time)
            if job_id is not None:
                last_run_at, last_job_id = fire_time, job_id
                created += 1
        await tx.fired(row["id"], plan.next_run_at, last_run_at, last_job_id, error)
        return created

    async def _fire_one(
        self, tx: FiringTransaction, row: Any, fire_time: dt.datetime
    ) -> tuple[uuid.UUID | None, str | None]:
        """The firing's job, or None and why not."""
        when = iso_utc(fire_time)
        if row["overlap_policy"] == "skip" and await tx.has_active_job(row["id"]):
            return None, f"skipped the firing of {when}: the previous job is still queued or running (overlap skip)"
        job_type = JOB_TYPES.get(row["job_type"])
        if job_type is None:
            return None, f"skipped the firing of {when}: job type {row['job_type']!r} is not known"
        owner = row["user_id"]
        access = await tx.access(row["organization_id"], owner, [rbac.CREATE_JOBS, job_type.permission])
        if not access.is_member:
            return None, f"skipped the firing of {when}: the owner {owner} is no longer a member of the organization"
        for permission in (rbac.CREATE_JOBS, job_type.permission):
            if permission not in access.granted:
                return None, f"skipped the firing of {when}: the owner {owner} lacks the permission {permission}"
        try:
            payload = validated_payload(job_type, row["payload"], self._settings)
        except InvalidInput as exc:
            return None, f"skipped the firing of {when}: the payload is no longer valid ({exc.detail})"
        job = NewJob(
            organization_id=row["organization_id"],
            user_id=owner,
            job_type=job_type.name,
            priority=row["priority"],
            max_retries=row["max_retries"],
            payload=payload,
            total_steps=job_type.total_steps,
            scheduled_at=None,
        )
        try:
            job_id = await tx.create_job(job, row["id"], fire_time, self._quotas)
        except QuotaExceeded as exc:
            return None, f"skipped the firing of {when}: {exc.detail}"
        if job_id is not None:
            JOBS_CREATED.labels(job_type.name).inc()
        return job_id, None


def _cron_of(row: Any) -> Cron:
    # Stored expressions were checked when saved; seconds are allowed here so that turning
    # the setting off later does not break schedules that already have them.
    return parse_cron(row["cron"], parse_zone(row["timezone"]), allow_seconds=True)


@contextlib.asynccontextmanager
async def periodic_scheduler(database_url: str, settings: Settings) -> AsyncIterator[None]:
    """The scheduler in the background of a worker process, every
    ``JOBRUNNER_SCHEDULER_INTERVAL_SECONDS``; it connects (and reconnects) by itself.
    Off with ``JOBRUNNER_SCHEDULER_ENABLED=false``."""
    if not settings.scheduler_enabled:
        yield
        return
    async with in_background(_run(database_url, settings), name="jobrunner-scheduler"):
        yield


async def _run(database_url: str, settings: Settings) -> None:
    pool: FairPool = await service_pool(database_url, settings, what="scheduler")
    scheduler = Scheduler(pool, settings)
    failures = 0
    try:
        while True:
            try:
                await scheduler.run_once()
                failures = 0
            except ROUND_ERRORS as exc:  # the database is away: try again, backing off
                failures += 1
                if failures == 1:
                    log.warning("scheduler round failed (%r); backing off until the database answers", exc)
            except Exception:  # a bug must not stop every later firing
                failures += 1
                log.exception("scheduler round failed")
            await asyncio.sleep(_pause(settings, failures))
    finally:
        pool.terminate()


def _pause(settings: Settings, failures: int) -> float:
    """The interval; after failed rounds in a row, the reconnect backoff (at least the interval)."""
    if failures == 0:
        return settings.scheduler_interval_seconds
    wait = backoff_seconds(
        failures - 1, base=settings.database_reconnect_base_seconds, cap=settings.database_reconnect_cap_seconds
    )
    return max(settings.scheduler_interval_seconds, wait)
