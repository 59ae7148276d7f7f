"""Payload models of the built-in job types (``export_report``, ``data_processing``,
``notification``, ``cleanup``, ``sync``; each declared by its processor module). Like
every payload they refuse unknown fields and monetary values (``PayloadModel``), also
inside the free-form notification ``data``. Whether an export's report type exists and
whether its filters suit it is checked in the job's first step, like every check that
needs the database (do the recipients belong to the organization, does the upload or the
integration exist)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, StrictInt, StrictStr, model_validator

from jobrunner.domain.payload_model import IsoDate, PayloadModel

Name = Annotated[StrictStr, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")]
"""A template or integration name: lower case letters, digits, ``_`` and ``-``."""

UserId = Annotated[StrictStr, Field(min_length=1, max_length=64)]

ExportFormat = Literal["csv", "json", "xlsx"]

KNOWN_REPORT_TYPES = ("quotes", "customers", "audit_log")
"""The report types jobrunner ships (``reports/``); an application may register more."""


class ExportFilters(PayloadModel):
    dateFrom: IsoDate | None = None
    dateTo: IsoDate | None = None
    status: Annotated[StrictStr, Field(min_length=1, max_length=32)] | None = None


class ExportReportPayload(PayloadModel):
    """``export_report``: which report, in which format, with which filters."""

    reportType: Annotated[
        StrictStr,
        Field(
            min_length=1,
            max_length=64,
            description="A registered report type; jobrunner's own: "
            + ", ".join(f"`{name}`" for name in KNOWN_REPORT_TYPES)
            + ". Any other name is accepted here and fails the job in its first step.",
            json_schema_extra={"examples": list(KNOWN_REPORT_TYPES)},
        ),
    ]
    format: ExportFormat
    filters: ExportFilters | None = None

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "reportType": "quotes",
                    "format": "csv",
                    "filters": {"dateFrom": "2024-01-01", "dateTo": "2024-12-31"},
                }
            ]
        }
    )


class NotificationPayload(PayloadModel):
    """``notification``: an email to users of the organization, or a webhook POST to the
    organization's ``notifications`` integration. ``template`` names a built-in template;
    ``data`` is what the template renders (free-form JSON, no monetary keys)."""

    channel: Literal["email", "webhook"]
    recipients: Annotated[list[UserId], Field(max_length=100)] = Field(default_factory=list)
    template: Name
    data: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _recipients_match_channel(self) -> NotificationPayload:
        if self.channel == "email" and not self.recipients:
            raise ValueError("an email needs at least one recipient")
        if self.channel == "webhook" and self.recipients:
            raise ValueError("a webhook goes to the organization's endpoint: no recipients")
        if len(set(self.recipients)) != len(self.recipients):
            raise ValueError("recipients must not repeat")
        return self


class CleanupPayload(PayloadModel):
    """``cleanup``: what to delete, and how old it must be (whole days, at least 1)."""

    target: Literal["exports", "jobs", "uploads", "all"]
    olderThanDays: Annotated[StrictInt, Field(ge=1, le=36500)]


class DataProcessingPayload(PayloadModel):
    """``data_processing``: import an uploaded CSV into a dataset."""

    operation: Literal["import"]
    dataset: Literal["customers", "quotes"]
    uploadId: uuid.UUID
    mode: Literal["insert", "upsert"] = "insert"


class SyncPayload(PayloadModel):
    """``sync``: push a dataset's changes since the last successful sync to an integration."""

    integration: Name
    dataset: Literal["quotes", "customers"]
