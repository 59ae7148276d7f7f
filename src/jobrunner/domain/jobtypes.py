"""Job types: each declares its payload model, the permission needed to create it and
how many steps it has. The API validates payloads against these at creation; the worker
pairs them with run functions (``worker/registry.py``). Adding a job type = one payload
model here plus one processor module."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StrictStr, model_validator

_MONETARY_KEY = re.compile(
    r"(amount|price|cost|total|subtotal|tax|balance|money|salary|fee|payment|revenue)", re.I
)


def _find_monetary_key(value: Any, path: str = "") -> str | None:
    if isinstance(value, dict):
        for key, item in value.items():
            where = f"{path}.{key}" if path else str(key)
            if _MONETARY_KEY.search(str(key)):
                return where
            found = _find_monetary_key(item, where)
            if found:
                return found
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found = _find_monetary_key(item, f"{path}[{index}]")
            if found:
                return found
    return None


def _iso_date(value: Any) -> Any:
    """Dates arrive as ISO strings (YYYY-MM-DD) only: no numbers, no other formats."""
    if isinstance(value, dt.date):
        return value
    if not isinstance(value, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        raise ValueError("must be an ISO 8601 date string (YYYY-MM-DD)")
    return value


IsoDate = Annotated[dt.date, BeforeValidator(_iso_date)]


class PayloadModel(BaseModel):
    """Base of every payload: unknown fields are refused, and so are monetary values
    (money lives in typed columns, never in JSONB)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=False)

    @model_validator(mode="before")
    @classmethod
    def _no_monetary_values(cls, data: Any) -> Any:
        where = _find_monetary_key(data)
        if where:
            raise ValueError(f"monetary values are not allowed in job payloads (found '{where}')")
        return data


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
