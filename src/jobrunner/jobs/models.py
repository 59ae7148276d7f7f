"""Request and response models of the jobs API. The request model validates input; the
response models document the answers in OpenAPI (answers are serialized directly, not
through these models, to keep the polling path cheap)."""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StrictInt, StrictStr, ValidationError

from jobrunner.domain.field_errors import field_errors as _field_errors
from jobrunner.domain.states import JobStatus

_ISO_DATE_START = re.compile(r"\d{4}-\d{2}-\d{2}")
EXAMPLE_JOB_ID = "550e8400-e29b-41d4-a716-446655440000"
EXAMPLE_PAYLOAD: dict[str, Any] = {
    "reportType": "quotes",
    "format": "csv",
    "filters": {"dateFrom": "2024-01-01", "dateTo": "2024-12-31"},
}
EXAMPLE_JOB: dict[str, Any] = {
    "id": EXAMPLE_JOB_ID,
    "organizationId": "org_acme",
    "userId": "user_admin",
    "jobType": "export_report",
    "status": "running",
    "priority": 5,
    "retryCount": 0,
    "maxRetries": 3,
    "payload": EXAMPLE_PAYLOAD,
    "result": None,
    "errorMessage": None,
    "progress": 60,
    "totalSteps": 6,
    "currentStep": 4,
    "stepLabel": "Format output",
    "startedAt": "2024-01-30T10:30:00.000Z",
    "completedAt": None,
    "scheduledAt": None,
    "createdAt": "2024-01-30T10:29:55.000Z",
    "updatedAt": "2024-01-30T10:30:15.000Z",
    "omitted": [],
}


def _iso_datetime_string(value: Any) -> Any:
    """Only ISO 8601 strings (YYYY-MM-DD...): no epoch numbers, not even as strings."""
    if not isinstance(value, str) or not _ISO_DATE_START.match(value):
        raise ValueError("must be an ISO 8601 date-time string")
    return value


class CreateJobRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"jobType": "export_report", "payload": EXAMPLE_PAYLOAD, "priority": 5, "maxRetries": 3}]
        },
    )

    jobType: Annotated[StrictStr, Field(min_length=1, max_length=50, description="A registered job type.")]
    payload: Annotated[dict[str, Any], Field(description="Validated against the job type's payload model.")]
    priority: Annotated[StrictInt, Field(ge=0, le=10, description="Higher runs first.")] = 0
    maxRetries: Annotated[
        StrictInt,
        Field(ge=0, le=10, description="Automatic retries allowed; default: the job type's (3 for built-ins)."),
    ] = 3
    scheduledAt: Annotated[
        dt.datetime | None,
        BeforeValidator(lambda v: v if v is None else _iso_datetime_string(v)),
        Field(description="Run no earlier than this (ISO 8601, in the future; no offset means UTC)."),
    ] = None


class CreateJobResponse(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"jobId": EXAMPLE_JOB_ID, "message": "Job created successfully"}]}
    )
    jobId: str
    message: str


class JobOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [EXAMPLE_JOB]})

    id: str
    organizationId: str
    userId: str
    jobType: str
    status: JobStatus
    priority: int
    retryCount: int
    maxRetries: int
    payload: dict[str, Any]
    result: dict[str, Any] | None
    errorMessage: str | None
    progress: int
    totalSteps: int | None
    currentStep: int
    stepLabel: str | None
    startedAt: str | None = Field(description="ISO 8601 UTC with milliseconds, e.g. 2024-01-30T10:30:00.000Z")
    completedAt: str | None
    scheduledAt: str | None
    createdAt: str
    updatedAt: str
    omitted: list[Literal["payload", "result"]] = Field(
        description="Fields shown as null because they are too large for a list answer "
        "(larger than JOBRUNNER_LIST_FIELD_MAX_BYTES) or cannot be shown at all; fetch the "
        "status endpoint for the full job. Empty when nothing is left out."
    )


class JobStatusResponse(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"job": EXAMPLE_JOB, "progress": 60, "canCancel": True, "canRetry": False}]}
    )
    job: JobOut
    progress: int
    canCancel: bool
    canRetry: bool


class JobListResponse(BaseModel):
    jobs: list[JobOut]
    total: int
    page: int
    pageSize: int
    totalPages: int


class MessageResponse(BaseModel):
    message: str


def field_errors(exc: ValidationError, prefix: str = "") -> list[dict[str, str]]:
    """One ``{"loc", "message"}`` entry per invalid field; ``loc`` is dotted
    (``payload.filters.dateFrom``)."""
    return _field_errors(exc.errors(include_url=False), prefix)
