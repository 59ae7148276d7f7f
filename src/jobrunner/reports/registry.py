"""Report types as data: each report module declares one ``Report`` (its columns, its SQL
statement, its filters, an optional extra permission) and registers it here.

A report's SQL is a named statement of ``db/queries/reports.sql`` that takes the
organization as ``$1`` and then its filters, in the order ``filters`` lists them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from jobrunner.db.sql import Q


class Kind(StrEnum):
    """How a column is typed and formatted in each format."""

    TEXT = "text"  # CSV: neutralised against formulas; XLSX: a string cell
    INTEGER = "integer"  # a number everywhere
    MONEY = "money"  # numeric(14,2): exact decimal text in CSV/JSON, a number cell in XLSX
    DATE = "date"  # YYYY-MM-DD; XLSX: a date cell
    TIMESTAMP = "timestamp"  # ISO 8601 UTC with ms and Z; XLSX: a date-time cell (UTC)


@dataclass(frozen=True)
class Column:
    name: str  # the column the report's statement selects
    header: str  # CSV/XLSX header
    kind: Kind = Kind.TEXT

    @property
    def json_key(self) -> str:
        """camelCase, like every JSON body of the service."""
        first, *rest = self.name.split("_")
        return first + "".join(part.capitalize() for part in rest)


@dataclass(frozen=True)
class Report:
    name: str
    title: str
    statement: str  # name of the statement in db/queries/reports.sql
    columns: tuple[Column, ...]
    filters: tuple[str, ...]  # allowed filters, in statement parameter order ($2, $3, ...)
    permission: str | None = None  # needed on top of reports.export_reports
    choices: Mapping[str, frozenset[str]] = field(default_factory=dict)  # allowed filter values

    @property
    def sql(self) -> str:
        return getattr(Q, self.statement)

    def arguments(self, organization_id: str, filters: Mapping[str, object]) -> list[object]:
        """The statement's arguments: the organization first, then each filter or None."""
        return [organization_id, *(filters.get(name) for name in self.filters)]


REPORTS: dict[str, Report] = {}


def register_report(report: Report) -> Report:
    if report.name in REPORTS:
        raise ValueError(f"report {report.name!r} registered twice")
    REPORTS[report.name] = report
    return report


def get_report(name: str) -> Report | None:
    return REPORTS.get(name)
