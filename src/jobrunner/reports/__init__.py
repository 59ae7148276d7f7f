"""Export reports: the registry, one module per report type, and the writers (csv, json,
xlsx). Importing this package registers the built-in reports."""

from jobrunner.reports import audit_log, customers, quotes  # noqa: F401  (registers them)
from jobrunner.reports.registry import REPORTS, Column, Kind, Report, get_report, register_report

__all__ = ["REPORTS", "Column", "Kind", "Report", "get_report", "register_report"]
