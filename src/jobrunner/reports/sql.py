"""The SELECT each format runs around a report's named statement.

Composed here rather than written out in ``reports.sql`` because each depends on the
report's column list: the report statement becomes a subquery and every column gets one
expression (formatting, formula neutralisation, a JSON object). Only column names and
headers declared by report modules are interpolated, quoted; user input (the filters)
stays in bound parameters of the report statement.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
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


EXCEL_EPOCH = "date '1899-12-30'"  # day 0 of Excel's 1900 date system (serial 1 = 1900-01-01)
XLSX_STYLE = {Kind.MONEY: 2, Kind.DATE: 3, Kind.TIMESTAMP: 4}  # writers/ooxml.py's cellXfs


def xml_text(expression: str) -> str:
    """A text expression as XML element content, markup characters escaped. Control
    characters are left to COPY's text format, which escapes them (and backslashes)
    outside the markup; the XLSX writer turns those escapes into XML (writers/xlsx.py)."""
    return f"replace(replace(replace({expression}, '&', '&amp;'), '<', '&lt;'), '>', '&gt;')"


def xlsx_cell(column: Column, letter: str, row: str) -> str:
    """One typed cell of SpreadsheetML (NULL for a NULL value: no cell). Text is an inline
    string (never a formula); numbers as PostgreSQL prints them (exact decimals, shortest
    round-trip floats); dates and UTC date-times as serial day numbers with a date style."""
    ref = "x." + quote_ident(column.name)
    at = quote_literal('<c r="' + letter) + " || " + row
    if column.kind is Kind.TEXT:
        opening = quote_literal('" t="inlineStr"><is><t xml:space="preserve">')
        return f"{at} || {opening} || {xml_text(ref)} || '</t></is></c>'"
    if column.kind is Kind.DATE:
        value = f"({ref} - {EXCEL_EPOCH})::text"
    elif column.kind is Kind.TIMESTAMP:
        value = f"(extract(epoch FROM {ref}) / 86400 + 25569)::text"  # 25569: 1970-01-01
    else:
        value = f"{ref}::text"
    style = f' s="{XLSX_STYLE[column.kind]}"' if column.kind in XLSX_STYLE else ""
    closing = quote_literal('"' + style + "><v>")
    return f"{at} || {closing} || {value} || '</v></c>'"


def xlsx_select(report: Report, letters: Sequence[str], rows_per_sheet: int) -> str:
    """One line of SpreadsheetML per report row (``<row r="N">`` and its typed cells), for
    ``COPY ... TO STDOUT`` in text format: the database formats the sheet as it does CSV.
    Row numbers restart after every ``rows_per_sheet`` rows (the writer starts another
    sheet there); 2 is the first row under the header."""
    row = "x.xlsx_row_number__"
    cells = ", ".join(xlsx_cell(c, letter, row) for c, letter in zip(report.columns, letters, strict=True))
    numbered = (
        f"SELECT r.*, (row_number() OVER () - 1) % {int(rows_per_sheet)} + 2 AS xlsx_row_number__ "
        f"FROM ({report.sql}) AS r"
    )
    return f"SELECT concat('<row r=\"', {row}, '\">', {cells}, '</row>') FROM ({numbered}) AS x"


def estimate_select(report: Report) -> str:
    """The planner's row estimate for the report: the progress bar's denominator. Counting
    exactly would read every row twice (a million-row count costs a third of the export)."""
    return f"EXPLAIN (FORMAT JSON) {report.sql}"


def estimated_rows(plan: Any) -> int:
    """``Plan Rows`` of an ``EXPLAIN (FORMAT JSON)`` answer (decoded or not)."""
    if isinstance(plan, (str, bytes)):
        plan = json.loads(plan)
    return max(int(plan[0]["Plan"]["Plan Rows"]), 1)
