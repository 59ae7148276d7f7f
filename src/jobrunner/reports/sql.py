"""The SELECT each format runs around a report's named statement.

Composed here rather than written out in ``reports.sql`` because each depends on the
report's column list: the report statement becomes a subquery and every column gets one
expression (formatting, formula neutralisation, a JSON object). Only column names and
headers declared by report modules are interpolated, quoted; user input (the filters)
stays in bound parameters of the report statement.
"""

from __future__ import annotations

import json
from typing import Any

from jobrunner.reports.formulas import neutralised_sql as neutralised
from jobrunner.reports.registry import Column, Kind, Report


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def quote_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _ref(column: Column) -> str:
    return "r." + quote_ident(column.name)


def iso_timestamp(expression: str) -> str:
    """ISO 8601 in UTC with milliseconds and Z, like every timestamp of the API."""
    return f"""to_char({expression} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')"""


def csv_expression(column: Column) -> str:
    ref = _ref(column)
    if column.kind is Kind.TEXT:
        return neutralised(ref)
    if column.kind is Kind.TIMESTAMP:
        return iso_timestamp(ref)
    return ref


def json_expression(column: Column) -> str:
    """Numbers (money included) stay JSON numbers with their exact decimal digits; dates
    are YYYY-MM-DD strings; text is not neutralised (JSON is not opened by spreadsheets)."""
    ref = _ref(column)
    return iso_timestamp(ref) if column.kind is Kind.TIMESTAMP else ref


def csv_select(report: Report) -> str:
    """One formatted column per report column, aliased to its header (COPY's HEADER)."""
    columns = ", ".join(f"{csv_expression(c)} AS {quote_ident(c.header)}" for c in report.columns)
    return f"SELECT {columns} FROM ({report.sql}) AS r"


def json_select(report: Report) -> str:
    """One JSON object per row, built by PostgreSQL (``json``, keys in column order)."""
    pairs = ", ".join(f"{quote_literal(c.json_key)}, {json_expression(c)}" for c in report.columns)
    return f"SELECT json_build_object({pairs})::text FROM ({report.sql}) AS r"


def typed_select(report: Report) -> str:
    """The report's columns as PostgreSQL types them, for XLSX's typed cells; money as
    float8, which is what a spreadsheet number cell holds anyway (and decodes faster)."""
    columns = ", ".join(_ref(c) + ("::float8" if c.kind is Kind.MONEY else "") for c in report.columns)
    return f"SELECT {columns} FROM ({report.sql}) AS r"


def estimate_select(report: Report) -> str:
    """The planner's row estimate for the report: the progress bar's denominator. Counting
    exactly would read every row twice (a million-row count costs a third of the export)."""
    return f"EXPLAIN (FORMAT JSON) {report.sql}"


def estimated_rows(plan: Any) -> int:
    """``Plan Rows`` of an ``EXPLAIN (FORMAT JSON)`` answer (decoded or not)."""
    if isinstance(plan, (str, bytes)):
        plan = json.loads(plan)
    return max(int(plan[0]["Plan"]["Plan Rows"]), 1)
