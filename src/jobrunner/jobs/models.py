"""Request and response models of the jobs API: the one description of a job's JSON shape
(``presenters.present_job`` writes it; a contract test checks every answer against the
OpenAPI document made from these models). The request model validates input; the
response models document the answers (answers are serialized directly, not through
these models, to keep the polling path cheap). Per job type, ``create_job_variants`` and
``job_out_variants`` make the typed creation body and job of the document from the
job-type declarations (``domain.jobtypes.JOB_TYPES``)."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Iterable
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    AfterValidator,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictInt,
    StrictStr,
    ValidationError,
    ValidationInfo,
    create_model,
    field_validator,
)
from pydantic_core import PydanticCustomError

from jobrunner.domain.dependencies import MAX_DEPENDENCIES, NAME_PATTERN
from jobrunner.domain.field_errors import field_errors as _field_errors
from jobrunner.domain.jobtypes import JobType
from jobrunner.domain.schema import Timestamp
from jobrunner.domain.states import JobStatus
from jobrunner.domain.webhooks import AttemptError, DeliveryState
from jobrunner.outbound.policy import DestinationPolicy
from jobrunner.outbound.urls import MAX_URL_LENGTH, BadURL, check_target_url

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
    "scheduleId": None,
    "templateId": None,
    "dependsOn": [],
    "blockedBy": 0,
    "callbackUrl": None,
    "omitted": [],
}


EXAMPLE_CREATE_BODY: dict[str, Any] = {
    "jobType": "export_report",
    "payload": EXAMPLE_PAYLOAD,
    "priority": 5,
    "maxRetries": 3,
}


def _example_of(name: str, example: dict[str, Any]) -> Any:
    """A ``json_schema_extra`` giving the model ``name`` (not its per-job-type subclasses)
    an example."""

    def extra(schema: dict[str, Any], model: type[BaseModel]) -> None:
        if model.__name__ == name:
            schema["examples"] = [example]

    return extra


def _iso_datetime_string(value: Any) -> Any:
    """Only ISO 8601 strings (YYYY-MM-DD...): no epoch numbers, not even as strings."""
    if not isinstance(value, str) or not _ISO_DATE_START.match(value):
        raise ValueError("must be an ISO 8601 date-time string")
    return value


class DependsOn(BaseModel):
    """A job the new job waits for, and the name its processor knows it by."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"jobId": EXAMPLE_JOB_ID, "as": "export"}]},
    )

    jobId: uuid.UUID = Field(description="One of the caller's jobs.")
    as_: Annotated[StrictStr, Field(pattern=NAME_PATTERN, max_length=50)] | None = Field(
        default=None,
        alias="as",
        description="The dependency's name for the job's processor (a notification template reads "
        "`dependencies.<name>.result`); default: the dependency's job type.",
    )


def _no_repeats(items: list[Any]) -> list[Any]:
    ids = [item if isinstance(item, uuid.UUID) else item.jobId for item in items]
    if len(set(ids)) != len(ids):
        raise ValueError("a job may be named only once in dependsOn")
    return items


_MaxRetries = Annotated[
    StrictInt,
    Field(ge=0, le=10, description="Automatic retries allowed; default: the job type's (3 for built-ins)."),
]


CALLBACK_URL_DESCRIPTION = (
    "Where each final state of the job is POSTed, signed (Standard Webhooks, docs/webhooks.md): an http or "
    "https URL without credentials, at most 2048 characters; loopback, private, link-local, multicast and "
    "reserved addresses are refused unless JOBRUNNER_OUTBOUND_ALLOWED_NETWORKS allows them."
)


def checked_callback_url(value: str, info: ValidationInfo) -> str:
    """``check_target_url`` with the policy in the validation context, as a field error."""
    policy = (info.context or {}).get("policy", DestinationPolicy())
    try:
        return check_target_url(value, policy)
    except BadURL as exc:
        raise PydanticCustomError("callback_url", "the callback URL {reason}", {"reason": str(exc)}) from None


class CreateJobRequest(BaseModel):
    """A creation body as the service reads it (any ``jobType``; the payload is validated
    afterwards against the type's payload model). The OpenAPI document shows the union of
    ``create_job_variants`` instead."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=_example_of("CreateJobRequest", EXAMPLE_CREATE_BODY))

    jobType: Annotated[StrictStr, Field(min_length=1, max_length=50, description="A registered job type.")]
    payload: Annotated[dict[str, Any], Field(description="Validated against the job type's payload model.")]
    priority: Annotated[StrictInt, Field(ge=0, le=10, description="Higher runs first.")] = 0
    maxRetries: _MaxRetries = 3
    scheduledAt: Annotated[
        dt.datetime | None,
        BeforeValidator(lambda v: v if v is None else _iso_datetime_string(v)),
        Field(description="Run no earlier than this (ISO 8601, in the future; no offset means UTC)."),
    ] = None
    dependsOn: Annotated[
        list[uuid.UUID | DependsOn],
        Field(
            max_length=MAX_DEPENDENCIES,
            description="Jobs of the caller's that must succeed first: the job stays queued until they all "
            "have (`blockedBy` counts those left) and is cancelled if one fails or is cancelled. "
            "A job id, or `{jobId, as}` to name it.",
        ),
        AfterValidator(_no_repeats),
    ] = []
    callbackUrl: Annotated[
        StrictStr | None,
        Field(
            max_length=MAX_URL_LENGTH,
            description=CALLBACK_URL_DESCRIPTION + " Without it, the organization's default (if any).",
        ),
    ] = None

    @field_validator("callbackUrl")
    @classmethod
    def _check_callback_url(cls, value: str | None, info: ValidationInfo) -> str | None:
        return None if value is None else checked_callback_url(value, info)


class CreateJobResponse(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"jobId": EXAMPLE_JOB_ID, "message": "Job created successfully"}]}
    )
    jobId: uuid.UUID
    message: str


class DependencyOut(BaseModel):
    """A job's dependency: its id and the name its processor knows it by."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"jobId": EXAMPLE_JOB_ID, "as": "export"}]})

    jobId: uuid.UUID
    as_: str = Field(alias="as")


class JobOut(BaseModel):
    """A job as every answer shows it (``presenters.present_job`` writes it). In the OpenAPI
    document ``JobOut`` is the union of one such schema per job type, told apart by
    ``jobType`` (``job_out_variants``)."""

    model_config = ConfigDict(json_schema_extra=_example_of("JobOut", EXAMPLE_JOB))

    id: uuid.UUID
    organizationId: str
    userId: str
    jobType: str
    status: JobStatus
    priority: int
    retryCount: int
    maxRetries: int
    payload: dict[str, Any] | None = Field(description="What the job was created with; null when omitted.")
    result: Any = Field(description="What the job made, once it succeeded (the job type's result); else null.")
    errorMessage: str | None
    progress: Annotated[int, Field(ge=0, le=100)]
    totalSteps: int | None
    currentStep: int
    stepLabel: str | None
    startedAt: Timestamp | None = Field(description="ISO 8601 UTC with milliseconds, e.g. 2024-01-30T10:30:00.000Z")
    completedAt: Timestamp | None
    scheduledAt: Timestamp | None
    createdAt: Timestamp
    updatedAt: Timestamp
    scheduleId: uuid.UUID | None = Field(
        description="The recurring schedule whose firing created the job (/v1/schedules); null for other jobs."
    )
    templateId: uuid.UUID | None = Field(
        description="The job template it was started from (`/v1/job-templates`); else null."
    )
    dependsOn: list[DependencyOut] = Field(description="The jobs this one waited or waits for ([] for none).")
    blockedBy: int = Field(
        ge=0,
        description="How many of `dependsOn` had not succeeded yet: while queued and above 0, the job waits "
        "for them (no worker takes it). 0 once they all succeeded.",
    )
    callbackUrl: str | None = Field(
        description="Where the job's final states are POSTed (given at creation, or the organization's "
        "default then); null: none."
    )
    omitted: list[Literal["payload", "result"]] = Field(
        description="Fields shown as null because they are too large for a list answer "
        "(larger than JOBRUNNER_LIST_FIELD_MAX_BYTES) or cannot be shown at all; fetch the "
        "status endpoint for the full job. Empty when nothing is left out."
    )


class WebhookAttemptOut(BaseModel):
    """One attempt to deliver a webhook: when, how long, and the receiver's status code or
    why there was none (never what the receiver sent)."""

    at: Timestamp
    durationMs: int = Field(ge=0)
    statusCode: int | None = Field(description="The receiver's HTTP status; null when it gave no answer.")
    error: AttemptError | None = Field(description="Why there was no answer; null when there was one.")


class WebhookDeliveryOut(BaseModel):
    """The webhook of one final state of the job (docs/webhooks.md)."""

    id: uuid.UUID = Field(description="The `webhook-id` header: the same on every attempt.")
    type: Literal["job.succeeded", "job.failed", "job.cancelled"]
    state: DeliveryState
    attempts: list[WebhookAttemptOut] = Field(description="Oldest first.")
    nextAttemptAt: Timestamp | None = Field(description="While pending: when the next attempt is due; else null.")
    createdAt: Timestamp = Field(description="When the job reached the final state.")


EXAMPLE_DELIVERY: dict[str, Any] = {
    "id": "0b4f5c1e-8d2a-4c6b-9e3f-1a2b3c4d5e6f",
    "type": "job.succeeded",
    "state": "delivered",
    "attempts": [
        {"at": "2024-01-30T10:31:00.050Z", "durationMs": 84, "statusCode": 503, "error": None},
        {"at": "2024-01-30T10:31:05.120Z", "durationMs": 61, "statusCode": 200, "error": None},
    ],
    "nextAttemptAt": None,
    "createdAt": "2024-01-30T10:31:00.000Z",
}


class JobStatusResponse(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"job": EXAMPLE_JOB, "progress": 60, "canCancel": True, "canRetry": False}]}
    )
    job: JobOut
    progress: Annotated[int, Field(ge=0, le=100)]
    canCancel: bool
    canRetry: bool
    webhookDeliveries: list[WebhookDeliveryOut] = Field(
        default_factory=list,
        description="Only for a job with a callbackUrl (absent otherwise): its completion webhooks, one per "
        "final state it reached, oldest first, each with its attempts (empty until the job is final).",
        json_schema_extra={"examples": [[EXAMPLE_DELIVERY]]},
    )


class JobListResponse(BaseModel):
    jobs: list[JobOut]
    total: int
    page: int
    pageSize: int
    totalPages: int


class MessageResponse(BaseModel):
    message: str


def schema_name(job_type: str) -> str:
    """``export_report`` -> ``ExportReport``: the stem of a job type's schema names."""
    stem = "".join(part[:1].upper() + part[1:] for part in re.split(r"[^A-Za-z0-9]+", job_type) if part)
    return stem if stem[:1].isalpha() else f"Type{stem}"


def _tag(job_type: JobType) -> Any:
    """``Literal["<name>"]``: the ``jobType`` of a job type's schemas."""
    return Literal[job_type.name]


def create_job_variants(job_types: Iterable[JobType]) -> dict[str, type[CreateJobRequest]]:
    """One creation body per job type: ``jobType`` fixed, ``payload`` its payload model,
    ``maxRetries`` defaulting to the type's. Only for the OpenAPI document (the service
    validates with ``CreateJobRequest`` and the type's payload model)."""
    return {
        job_type.name: create_model(
            f"{schema_name(job_type.name)}JobRequest",
            __base__=CreateJobRequest,
            __doc__=f"Create a `{job_type.name}` job. {job_type.description}".strip(),
            jobType=(_tag(job_type), Field(description="The job type.")),
            payload=(job_type.payload_model, ...),
            maxRetries=(_MaxRetries, job_type.retry.max_retries),
        )
        for job_type in job_types
    }


def job_out_variants(job_types: Iterable[JobType]) -> dict[str, type[JobOut]]:
    """One job schema per job type, for the OpenAPI document: ``payload`` its payload model,
    ``result`` its result model (any JSON when it declares none)."""
    variants: dict[str, type[JobOut]] = {}
    for job_type in job_types:
        payload: Any = job_type.payload_model | None
        result: Any = job_type.result_model | None if job_type.result_model else Any
        variants[job_type.name] = create_model(
            f"{schema_name(job_type.name)}Job",
            __base__=JobOut,
            __doc__=f"A `{job_type.name}` job. {job_type.description}".strip(),
            jobType=(_tag(job_type), ...),
            payload=(payload, JobOut.model_fields["payload"]),
            result=(result, JobOut.model_fields["result"]),
        )
    return variants


def field_errors(exc: ValidationError, prefix: str = "") -> list[dict[str, str]]:
    """One ``{"loc", "message"}`` entry per invalid field; ``loc`` is dotted
    (``payload.filters.dateFrom``)."""
    return _field_errors(exc.errors(include_url=False), prefix)
