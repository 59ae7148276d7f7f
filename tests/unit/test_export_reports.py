"""The report registry and step-1 checks that need no database."""

from __future__ import annotations

import re

import pytest

from jobrunner.domain.errors import PermanentError
from jobrunner.reports import REPORTS
from jobrunner.reports.validation import check_request


def test_builtin_reports() -> None:
    assert set(REPORTS) == {"quotes", "customers", "audit_log"}
    assert REPORTS["quotes"].filters == ("dateFrom", "dateTo", "status")
    assert REPORTS["customers"].filters == ("dateFrom", "dateTo")
    assert REPORTS["audit_log"].permission == "reports.export_audit_log"


@pytest.mark.parametrize("report", sorted(REPORTS.values(), key=lambda r: r.name), ids=lambda r: r.name)
def test_statement_parameters_match_filters(report) -> None:
    """$1 is the organization and is always used; each filter is one more parameter."""
    numbers = {int(n) for n in re.findall(r"\$(\d+)", report.sql)}
    assert numbers == set(range(1, len(report.filters) + 2))
    assert "organization_id = $1" in report.sql
    selected = {c.name for c in report.columns}
    for name in selected:
        assert re.search(rf"\b{name}\b", report.sql), name


def test_arguments_follow_the_filter_order() -> None:
    request = check_request(
        {"reportType": "quotes", "format": "csv", "filters": {"status": "sent", "dateTo": "2024-01-02"}},
        "org_acme",
        "user_admin",
    )
    import datetime as dt

    assert request.arguments() == ["org_acme", None, dt.date(2024, 1, 2), "sent"]


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        ({"reportType": "nope", "format": "csv"}, "unknown report type 'nope'"),
        ({"reportType": "audit_log", "format": "csv", "filters": {"status": "x"}}, "filter 'status' is not supported"),
        (
            {"reportType": "quotes", "format": "csv", "filters": {"dateFrom": "2024-02-02", "dateTo": "2024-02-01"}},
            "is after dateTo",
        ),
        ({"reportType": "quotes", "format": "pdf"}, "malformed fields: format"),
        ({"reportType": "quotes", "format": "csv", "extra": 1}, "malformed fields: extra"),
        ("not a payload", "malformed"),
    ],
)
def test_invalid_payloads(payload, reason) -> None:
    with pytest.raises(PermanentError) as caught:
        check_request(payload, "org_acme", "user_admin")
    assert str(caught.value).startswith("Invalid export job payload: ") and reason in str(caught.value)


def test_same_day_range_is_valid() -> None:
    check_request(
        {"reportType": "customers", "format": "xlsx", "filters": {"dateFrom": "2024-02-02", "dateTo": "2024-02-02"}},
        "org_acme",
        "user_admin",
    )
