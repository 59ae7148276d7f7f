"""Request and response models of the job templates (``/v1/job-templates``) and of
starting a job from one (``POST /v1/jobs`` with ``templateId``)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StrictInt, StrictStr, field_validator
from pydantic_core import PydanticCustomError

from jobrunner.domain.schema import Timestamp, not_required
from jobrunner.jobs.models import EXAMPLE_PAYLOAD, _iso_datetime_string

EXAMPLE_TEMPLATE_ID = "7d444840-9dc0-11d1-b245-5ffdce74fad2"
EXAMPLE_TEMPLATE: dict[str, Any] = {
    "id": EXAMPLE_TEMPLATE_ID,
    "organizationId": "org_acme",
    "name": "Quarterly quotes (CSV)",
    "jobType": "export_report",
    "payload": EXAMPLE_PAYLOAD,
    "priority": 5,
    "maxRetries": 3,
    "createdBy": "user_admin",
    "createdAt": "2024-01-30T10:29:55.000Z",
    "updatedAt": "2024-01-30T10:29:55.000Z",
}

_NAME_DESCRIPTION = "Unique in the organization; 1-100 characters, no control characters, no surrounding spaces."


def _check_name(value: str) -> str:
    if value != value.strip() or any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F for c in value):
        raise PydanticCustomError("template_name", "must not contain control characters or surrounding spaces")
    return value


_Name = Annotated[StrictStr, Field(min_length=1, max_length=100, description=_NAME_DESCRIPTION)]
_Priority = Annotated[StrictInt, Field(ge=0, le=10, description="Higher runs first.")]
_MaxRetries = Annotated[StrictInt, Field(ge=0, le=10, description="Automatic retries allowed.")]


class TemplateRequest(BaseModel):
    """The body of ``POST /v1/job-templates``: what ``POST /v1/jobs`` takes, saved under a name."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "name": "Quarterly quotes (CSV)",
                    "jobType": "export_report",
                    "payload": EXAMPLE_PAYLOAD,
                    "priority": 5,
                }
            ]
        },
    )

    name: _Name
    jobType: Annotated[StrictStr, Field(min_length=1, max_length=50, description="A registered job type.")]
    payload: Annotated[
        dict[str, Any], Field(description="Validated against the job type's payload model, as at job creation.")
    ]
    priority: _Priority = 0
    maxRetries: Annotated[
        _MaxRetries, Field(description="Default: the job type's (3 for built-ins).", json_schema_extra=not_required)
    ] = None  # type: ignore[assignment]

    _name = field_validator("name")(_check_name)


class TemplatePatch(BaseModel):
    """The body of ``PATCH /v1/job-templates/{templateId}``: the fields to change (at least
    one). ``payload`` replaces the template's payload as a whole; the result is validated as
    a new template would be."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"priority": 8}, {"name": "Quotes, every quarter"}]},
    )

    name: Annotated[_Name, Field(json_schema_extra=not_required)] = None  # type: ignore[assignment]
    jobType: Annotated[
        StrictStr,
        Field(min_length=1, max_length=50, description="A registered job type.", json_schema_extra=not_required),
    ] = None  # type: ignore[assignment]
    payload: Annotated[
        dict[str, Any], Field(description="Replaces the template's payload.", json_schema_extra=not_required)
    ] = None  # type: ignore[assignment]
    priority: Annotated[_Priority, Field(json_schema_extra=not_required)] = None  # type: ignore[assignment]
    maxRetries: Annotated[_MaxRetries, Field(json_schema_extra=not_required)] = None  # type: ignore[assignment]

    _name = field_validator("name")(_check_name)


class TemplateOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [EXAMPLE_TEMPLATE]})

    id: uuid.UUID
    organizationId: str
    name: str
    jobType: str
    payload: dict[str, Any]
    priority: Annotated[int, Field(ge=0, le=10)]
    maxRetries: Annotated[int, Field(ge=0, le=10)]
    createdBy: str | None = Field(description="Who created it; null once that user is deleted.")
    createdAt: Timestamp
    updatedAt: Timestamp


class TemplateListResponse(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"templates": [EXAMPLE_TEMPLATE], "total": 1, "page": 1, "pageSize": 25, "totalPages": 1}]
        }
    )

    templates: list[TemplateOut]
    total: int
    page: int
    pageSize: int
    totalPages: int


class CreateJobFromTemplateRequest(BaseModel):
    """Start a job from a saved template: its job type, payload, priority and maxRetries,
    with these overrides. ``payload`` is merged over the template's (JSON Merge Patch,
    RFC 7396: objects merge key by key, `null` removes a key) and the result validated as
    any payload is."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"templateId": EXAMPLE_TEMPLATE_ID, "payload": {"filters": {"dateFrom": "2024-04-01"}}, "priority": 8}
            ]
        },
    )

    templateId: uuid.UUID = Field(description="A template of the caller's organization.")
    payload: Annotated[
        dict[str, Any], Field(description="Merged over the template's payload.", json_schema_extra=not_required)
    ] = None  # type: ignore[assignment]
    priority: Annotated[_Priority, Field(description="Default: the template's.", json_schema_extra=not_required)] = None  # type: ignore[assignment]
    maxRetries: Annotated[
        _MaxRetries, Field(description="Default: the template's.", json_schema_extra=not_required)
    ] = None  # type: ignore[assignment]
    scheduledAt: Annotated[
        dt.datetime,
        BeforeValidator(_iso_datetime_string),
        Field(
            description="Run no earlier than this (ISO 8601, in the future; no offset means UTC).",
            json_schema_extra=not_required,
        ),
    ] = None  # type: ignore[assignment]
