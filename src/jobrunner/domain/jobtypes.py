"""Job types: each declares its payload model, the permission needed to create it and
how many steps it has. The API validates payloads against these at creation; the worker
pairs them with run functions (``worker/registry.py``). Adding a job type = one payload
model here plus one processor module."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Literal

from pydantic import ConfigDict, Field, StrictStr

from jobrunner.domain.payload_model import IsoDate, PayloadModel

__all__ = ["JOB_TYPES", "JOB_TYPE_PERMISSIONS", "IsoDate", "JobType", "PayloadModel", "register_job_type"]


class ExportFilters(PayloadModel):
    dateFrom: IsoDate | None = None
    dateTo: IsoDate | None = None
    status: Annotated[StrictStr, Field(min_length=1, max_length=32)] | None = None


class ExportReportPayload(PayloadModel):
    """``export_report``: which report, in which format, with which filters. Whether the
    report type exists and whether the filters suit it is checked in the job's first step."""

    reportType: Annotated[StrictStr, Field(min_length=1, max_length=64)]
    format: Literal["csv", "json", "xlsx"]
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


@dataclass(frozen=True)
class JobType:
    name: str
    permission: str
    payload_model: type[PayloadModel]
    total_steps: int
    description: str


JOB_TYPES: dict[str, JobType] = {}


def register_job_type(job_type: JobType) -> JobType:
    JOB_TYPES[job_type.name] = job_type
    return job_type


register_job_type(
    JobType(
        name="export_report",
        permission="reports.export_reports",
        payload_model=ExportReportPayload,
        total_steps=6,
        description="Export a report (quotes, customers, audit_log) as CSV, JSON or XLSX.",
    )
)

# Every job type of the product document has its own create permission, seeded by the
# first migration; a type is accepted by the API once its payload model is registered.
JOB_TYPE_PERMISSIONS: dict[str, str] = {
    "export_report": "reports.export_reports",
    "data_processing": "data.process_data",
    "notification": "notifications.send_notifications",
    "cleanup": "maintenance.run_cleanup",
    "sync": "integrations.run_sync",
}


def _register_builtin_types() -> None:
    """The four job types beyond exports (payload models in ``domain/payloads.py``)."""
    from jobrunner.domain import payloads

    for name, model, steps, description in (
        ("notification", payloads.NotificationPayload, 3,
         "Send an email to users of the organization, or a signed webhook to its endpoint."),
        ("cleanup", payloads.CleanupPayload, 4,
         "Delete the organization's expired export files, old uploads and old finished jobs."),
        ("data_processing", payloads.DataProcessingPayload, 4,
         "Import an uploaded CSV of customers or quotes, rejecting bad rows into a CSV."),
        ("sync", payloads.SyncPayload, 3,
         "Push the records changed since the last sync to a configured integration."),
    ):
        register_job_type(JobType(name, JOB_TYPE_PERMISSIONS[name], model, steps, description))


_register_builtin_types()
