"""Step 1 of an export: is this payload an export we can run for this user?

Checks that need data or the report registry (the API already checked the payload's
shape): the report type exists, every filter is one the report knows, allowed filter
values, dateFrom <= dateTo, and the report's extra permission. Any failure is a
``PermanentError`` whose message starts with ``Invalid export job payload``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import asyncpg
from pydantic import ValidationError

from jobrunner.db.sql import Q
from jobrunner.domain.errors import PermanentError
from jobrunner.domain.payloads import ExportReportPayload
from jobrunner.reports.registry import REPORTS, Report, get_report

INVALID_PAYLOAD = "Invalid export job payload"


def invalid(reason: str) -> PermanentError:
    return PermanentError(f"{INVALID_PAYLOAD}: {reason}")


@dataclass(frozen=True)
class ExportRequest:
    """A validated export: which report, which format, whose data, which filters."""

    report: Report
    format: str
    organization_id: str
    user_id: str
    filters: dict[str, Any]

    def arguments(self) -> list[Any]:
        return self.report.arguments(self.organization_id, self.filters)


def _as_payload(payload: Any) -> ExportReportPayload:
    if isinstance(payload, ExportReportPayload):
        return payload
    try:
        return ExportReportPayload.model_validate(payload)
    except ValidationError as exc:
        fields = ", ".join(".".join(map(str, e["loc"])) or "payload" for e in exc.errors())
        raise invalid(f"malformed fields: {fields}") from exc


def check_request(payload: Any, organization_id: str, user_id: str) -> ExportRequest:
    """Everything but the permission: no database needed."""
    model = _as_payload(payload)
    report = get_report(model.reportType)
    if report is None:
        known = ", ".join(sorted(REPORTS))
        raise invalid(f"unknown report type '{model.reportType}' (known: {known})")
    filters = model.filters.model_dump(exclude_none=True) if model.filters else {}
    for name, value in filters.items():
        if name not in report.filters:
            allowed = ", ".join(report.filters) or "none"
            raise invalid(f"filter '{name}' is not supported by report '{report.name}' (supported: {allowed})")
        choices = report.choices.get(name)
        if choices is not None and value not in choices:
            raise invalid(f"filter '{name}' must be one of {', '.join(sorted(choices))}")
    date_from, date_to = filters.get("dateFrom"), filters.get("dateTo")
    if date_from and date_to and date_from > date_to:
        raise invalid(f"dateFrom {date_from.isoformat()} is after dateTo {date_to.isoformat()}")
    return ExportRequest(report, model.format, organization_id, user_id, filters)


async def validate_export(pool: asyncpg.Pool, payload: Any, organization_id: str, user_id: str) -> ExportRequest:
    request = check_request(payload, organization_id, user_id)
    permission = request.report.permission
    if permission and not await pool.fetchval(Q.export_user_has_permission, organization_id, user_id, permission):
        raise invalid(f"report '{request.report.name}' needs the permission {permission}")
    return request
