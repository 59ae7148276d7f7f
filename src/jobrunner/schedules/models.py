"""Request and response models of /v1/schedules (docs/workflows.md)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr

from jobrunner.domain.schema import Timestamp, not_required
from jobrunner.jobs.models import EXAMPLE_PAYLOAD

EXAMPLE_SCHEDULE_ID = "7d444840-9dc0-11d1-b245-5ffdce74fad2"

MisfirePolicy = Literal["run_once", "skip"]
OverlapPolicy = Literal["allow", "skip"]

_CRON_DESCRIPTION = (
    "Cron expression, 5 fields: minute hour day-of-month month day-of-week (e.g. `0 9 * * 1-5`). "
    "A sixth, leading seconds field only where JOBRUNNER_SCHEDULE_ALLOW_SECONDS is on."
)
_ZONE_DESCRIPTION = "IANA time zone the expression is read in (e.g. `Europe/Paris`); default `UTC`."
_MISFIRE_DESCRIPTION = (
    "When fire times were missed (no worker running): `run_once` (default) creates one job on "
    "recovery for all of them; `skip` drops them and waits for the next fire time."
)
_OVERLAP_DESCRIPTION = (
    "`allow` (default): every firing creates a job. `skip`: a firing is skipped while a job of "
    "this schedule is still queued, running or retrying."
)

_Cron = Annotated[StrictStr, Field(min_length=1, max_length=200, description=_CRON_DESCRIPTION)]
_Zone = Annotated[StrictStr, Field(min_length=1, max_length=64, description=_ZONE_DESCRIPTION)]
_JobType = Annotated[StrictStr, Field(min_length=1, max_length=50, description="A registered job type.")]
_Payload = Annotated[dict[str, Any], Field(description="The jobs' payload, validated as POST /v1/jobs validates it.")]
_Priority = Annotated[StrictInt, Field(ge=0, le=10, description="The jobs' priority; higher runs first.")]
_MaxRetries = Annotated[
    StrictInt, Field(ge=0, le=10, description="The jobs' automatic retries; default: the job type's.")
]

EXAMPLE_CREATE: dict[str, Any] = {
    "cron": "0 6 * * 1",
    "timezone": "Europe/Paris",
    "jobType": "export_report",
    "payload": EXAMPLE_PAYLOAD,
    "priority": 3,
    "misfirePolicy": "run_once",
    "overlap": "skip",
}


class CreateScheduleRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [EXAMPLE_CREATE]})

    cron: _Cron
    timezone: _Zone = "UTC"
    jobType: _JobType
    payload: _Payload
    priority: _Priority = 0
    maxRetries: _MaxRetries = 3
    paused: Annotated[StrictBool, Field(description="Create it paused (no firing until resumed).")] = False
    misfirePolicy: Annotated[MisfirePolicy, Field(description=_MISFIRE_DESCRIPTION)] = "run_once"
    overlap: Annotated[OverlapPolicy, Field(description=_OVERLAP_DESCRIPTION)] = "allow"


def _absent(description: str) -> Any:
    return Field(json_schema_extra=not_required, description=f"{description} Absent: unchanged.")


class UpdateScheduleRequest(BaseModel):
    """The fields to change; absent ones stay as they are (none may be null).
    `{"paused": true}` pauses the schedule, `{"paused": false}` resumes it."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"paused": True}, {"cron": "30 7 * * *"}]}
    )

    cron: Annotated[StrictStr, Field(min_length=1, max_length=200), _absent("Cron expression.")] = None  # type: ignore[assignment]
    timezone: Annotated[StrictStr, Field(min_length=1, max_length=64), _absent("IANA time zone.")] = None  # type: ignore[assignment]
    jobType: Annotated[StrictStr, Field(min_length=1, max_length=50), _absent("Job type.")] = None  # type: ignore[assignment]
    payload: Annotated[dict[str, Any], _absent("Payload.")] = None  # type: ignore[assignment]
    priority: Annotated[StrictInt, Field(ge=0, le=10), _absent("Priority.")] = None  # type: ignore[assignment]
    maxRetries: Annotated[StrictInt, Field(ge=0, le=10), _absent("Automatic retries.")] = None  # type: ignore[assignment]
    paused: Annotated[
        StrictBool, _absent("true pauses, false resumes (from now on: firings missed while paused are not made up).")
    ] = None  # type: ignore[assignment]
    misfirePolicy: Annotated[MisfirePolicy, _absent(_MISFIRE_DESCRIPTION)] = None  # type: ignore[assignment]
    overlap: Annotated[OverlapPolicy, _absent(_OVERLAP_DESCRIPTION)] = None  # type: ignore[assignment]


EXAMPLE_SCHEDULE: dict[str, Any] = {
    "id": EXAMPLE_SCHEDULE_ID,
    "organizationId": "org_acme",
    "userId": "user_admin",
    "cron": "0 6 * * 1",
    "timezone": "Europe/Paris",
    "jobType": "export_report",
    "payload": EXAMPLE_PAYLOAD,
    "priority": 3,
    "maxRetries": 3,
    "paused": False,
    "misfirePolicy": "run_once",
    "overlap": "skip",
    "nextRunAt": "2024-02-05T05:00:00.000Z",
    "lastRunAt": "2024-01-29T05:00:00.000Z",
    "lastJobId": "550e8400-e29b-41d4-a716-446655440000",
    "lastError": None,
    "lastErrorAt": None,
    "createdAt": "2024-01-02T10:00:00.000Z",
    "updatedAt": "2024-01-02T10:00:00.000Z",
}


class ScheduleOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [EXAMPLE_SCHEDULE]})

    id: uuid.UUID
    organizationId: str
    userId: str = Field(description="The owner: jobs are created as this user, with their permissions.")
    cron: str
    timezone: str
    jobType: str
    payload: dict[str, Any]
    priority: int
    maxRetries: int
    paused: bool
    misfirePolicy: MisfirePolicy
    overlap: OverlapPolicy
    nextRunAt: Timestamp | None = Field(description="The next fire time (UTC); null while paused.")
    lastRunAt: Timestamp | None = Field(description="The fire time of the last firing that created a job.")
    lastJobId: uuid.UUID | None = Field(description="The job that firing created.")
    lastError: str | None = Field(
        description="Why the last firing created no job (owner lost a permission or left, overlap, "
        "missed firings skipped, quota); null once a firing creates a job again."
    )
    lastErrorAt: Timestamp | None
    createdAt: Timestamp
    updatedAt: Timestamp


class ScheduleListResponse(BaseModel):
    schedules: list[ScheduleOut]
    total: int
    page: int
    pageSize: int
    totalPages: int
