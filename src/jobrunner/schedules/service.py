"""The schedules API's rules: who may do what (``schedules.manage_schedules`` plus the
permission to create the schedule's job type), validation (the cron expression and time
zone; the payload exactly as POST /v1/jobs checks it), and the next fire time. Every
statement is scoped by the token's organization: another organization's schedule is a 404."""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from typing import Any, TypeVar

import asyncpg
from pydantic import BaseModel, ValidationError

from jobrunner.auth import rbac
from jobrunner.auth.tokens import TokenClaims
from jobrunner.db.schedules_repository import ScheduleFields, SchedulesRepository
from jobrunner.domain.errors import InvalidInput, NotFound
from jobrunner.domain.jobtypes import JOB_TYPES
from jobrunner.jobs.presenters import present_page
from jobrunner.jobs.models import field_errors
from jobrunner.jobs.validation import known_job_type, validated_payload
from jobrunner.schedules.cron import parse_cron, parse_zone
from jobrunner.schedules.models import CreateScheduleRequest, UpdateScheduleRequest
from jobrunner.settings import Settings
from jobrunner.timestamps import iso_utc

SCHEDULE_NOT_FOUND = "schedule not found"
M = TypeVar("M", bound=BaseModel)


def parse_schedule_id(text: str) -> uuid.UUID:
    """Not a UUID names no schedule: 404, like another organization's."""
    if len(text) > 64:
        raise NotFound(SCHEDULE_NOT_FOUND)
    try:
        return uuid.UUID(text)
    except ValueError:
        raise NotFound(SCHEDULE_NOT_FOUND) from None


def present_schedule(row: asyncpg.Record) -> dict[str, Any]:
    return {
        "id": str(row["id"]),
        "organizationId": row["organization_id"],
        "userId": row["user_id"],
        "cron": row["cron"],
        "timezone": row["timezone"],
        "jobType": row["job_type"],
        "payload": row["payload"],
        "priority": row["priority"],
        "maxRetries": row["max_retries"],
        "paused": row["paused"],
        "misfirePolicy": row["misfire_policy"],
        "overlap": row["overlap_policy"],
        "nextRunAt": iso_utc(row["next_run_at"]),
        "lastRunAt": iso_utc(row["last_run_at"]),
        "lastJobId": str(row["last_job_id"]) if row["last_job_id"] else None,
        "lastError": row["last_error"],
        "lastErrorAt": iso_utc(row["last_error_at"]),
        "createdAt": iso_utc(row["created_at"]),
        "updatedAt": iso_utc(row["updated_at"]),
    }


class ScheduleService:
    def __init__(self, repository: SchedulesRepository, settings: Settings) -> None:
        self._repo = repository
        self._settings = settings

    async def _require(self, claims: TokenClaims, job_type: str | None = None) -> None:
        """``schedules.manage_schedules``; with ``job_type``, also what creating such a job
        needs (``jobs.create_jobs`` and the type's permission), as POST /v1/jobs asks."""
        declared = JOB_TYPES.get(job_type) if job_type else None
        needed = [rbac.MANAGE_SCHEDULES]
        if job_type is not None:
            needed += [rbac.CREATE_JOBS] + ([declared.permission] if declared else [])
        access = await self._repo.access(claims.organization_id, claims.user_id, needed)
        rbac.require(access, *needed)

    async def create(self, claims: TokenClaims, body: Any) -> dict[str, Any]:
        name = body.get("jobType") if isinstance(body, dict) else None
        await self._require(claims, name if isinstance(name, str) else None)
        request = _validated(CreateScheduleRequest, body)
        job_type = known_job_type(request.jobType)
        fields = ScheduleFields(
            cron=request.cron,
            timezone=request.timezone,
            job_type=job_type.name,
            payload=validated_payload(job_type, request.payload, self._settings),
            priority=request.priority,
            max_retries=request.maxRetries if "maxRetries" in request.model_fields_set else job_type.retry.max_retries,
            paused=request.paused,
            misfire_policy=request.misfirePolicy,
            overlap_policy=request.overlap,
            next_run_at=None,
        )
        fields = self._timed(fields)
        return present_schedule(await self._repo.insert(claims.organization_id, claims.user_id, fields))

    async def list(self, claims: TokenClaims, page: int, size: int) -> dict[str, Any]:
        await self._require(claims)
        total, rows = await self._repo.page(claims.organization_id, size, (page - 1) * size)
        return present_page("schedules", [present_schedule(row) for row in rows], total, page, size)

    async def get(self, claims: TokenClaims, schedule_id: str) -> dict[str, Any]:
        await self._require(claims)
        return present_schedule(await self._row(claims, parse_schedule_id(schedule_id)))

    async def update(self, claims: TokenClaims, schedule_id: str, body: Any) -> dict[str, Any]:
        ident = parse_schedule_id(schedule_id)
        await self._require(claims)
        request = _validated(UpdateScheduleRequest, body)
        row = await self._row(claims, ident)
        given = request.model_dump(exclude_unset=True)
        job_type_name = given.get("jobType", row["job_type"])
        # Changing a schedule is deciding what its jobs are: the same permissions as
        # creating one (the owner, whose jobs they stay, is checked at each firing).
        # Pausing and resuming decide nothing about them: the schedules permission is
        # enough, as for reading and deleting (docs/workflows.md#who-may-do-what).
        if set(given) - {"paused"}:
            await self._require(claims, job_type_name)
        job_type = known_job_type(job_type_name)
        payload = row["payload"]
        if "jobType" in given or "payload" in given:
            payload = validated_payload(job_type, given.get("payload", row["payload"]), self._settings)
        fields = ScheduleFields(
            cron=given.get("cron", row["cron"]),
            timezone=given.get("timezone", row["timezone"]),
            job_type=job_type.name,
            payload=payload,
            priority=given.get("priority", row["priority"]),
            max_retries=given.get("maxRetries", row["max_retries"]),
            paused=given.get("paused", row["paused"]),
            misfire_policy=given.get("misfirePolicy", row["misfire_policy"]),
            overlap_policy=given.get("overlap", row["overlap_policy"]),
            next_run_at=row["next_run_at"],
        )
        retimed = any(given.get(key, row[column]) != row[column] for key, column in _TIMING)
        if retimed:
            fields = self._timed(fields)
        updated = await self._repo.update(claims.organization_id, ident, claims.user_id, fields, retimed=retimed)
        if updated is None:
            raise NotFound(SCHEDULE_NOT_FOUND)
        return present_schedule(updated)

    async def delete(self, claims: TokenClaims, schedule_id: str) -> None:
        ident = parse_schedule_id(schedule_id)
        await self._require(claims)
        if not await self._repo.delete(claims.organization_id, ident, claims.user_id):
            raise NotFound(SCHEDULE_NOT_FOUND)

    async def _row(self, claims: TokenClaims, ident: uuid.UUID) -> asyncpg.Record:
        row = await self._repo.get(claims.organization_id, ident)
        if row is None:
            raise NotFound(SCHEDULE_NOT_FOUND)
        return row

    def _timed(self, fields: ScheduleFields) -> ScheduleFields:
        """The fields with the expression checked and the next fire time from now on
        (None while paused)."""
        zone = parse_zone(fields.timezone)
        cron = parse_cron(fields.cron, zone, allow_seconds=self._settings.schedule_allow_seconds)
        next_run_at = None if fields.paused else cron.next_after(dt.datetime.now(dt.UTC))
        return dataclasses.replace(fields, cron=cron.expression, next_run_at=next_run_at)


def _validated(model: type[M], body: Any) -> M:
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        raise InvalidInput("invalid request body", field_errors(exc)) from exc


# Request field, column: a change of these recomputes the next fire time.
_TIMING = (("cron", "cron"), ("timezone", "timezone"), ("paused", "paused"))
