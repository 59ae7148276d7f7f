"""What an export should contain, read from the database with the tests' own SQL (not the
report statements under test), and the files parsed back into comparable rows."""

from __future__ import annotations

import csv
import datetime as dt
import json
import re
from decimal import Decimal
from pathlib import Path

import asyncpg
import openpyxl

from jobrunner.reports.validation import check_request
from jobrunner.storage import LocalDiskStorage
from jobrunner.reports.writers import WRITERS, RowProgress

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

EXPECTED_SQL = {
    "quotes": """
        SELECT q.quote_number, c.name, c.email, q.status, q.currency, q.subtotal, q.tax, q.total,
               q.valid_until, q.created_at
          FROM quotes q JOIN customers c ON c.id = q.customer_id
         WHERE q.organization_id = $1
         ORDER BY q.created_at, q.id""",
    "customers": """
        SELECT id, name, email, country, created_at FROM customers
         WHERE organization_id = $1 ORDER BY created_at, id""",
    "audit_log": """
        SELECT id, created_at, actor, user_id, action, job_id::text, details::text FROM audit_logs
         WHERE organization_id = $1 ORDER BY created_at, id""",
}
# Which expected columns are text (neutralised in CSV), and which are timestamps.
TEXT = {"quotes": {0, 1, 2, 3, 4}, "customers": {1, 2, 3}, "audit_log": {2, 3, 4, 5, 6}}


async def expected_rows(pool: asyncpg.Pool, report: str, organization_id: str = "org_acme", keep=None) -> list[tuple]:
    rows = [tuple(r) for r in await pool.fetch(EXPECTED_SQL[report], organization_id)]
    return [r for r in rows if keep is None or keep(r)]


def in_range_utc(date_from: str | None, date_to: str | None, created: dt.datetime) -> bool:
    """Whether ``created`` falls within the whole UTC days dateFrom..dateTo."""
    day = created.astimezone(dt.UTC).date()
    return (date_from is None or day >= dt.date.fromisoformat(date_from)) and (
        date_to is None or day <= dt.date.fromisoformat(date_to)
    )


def iso_ms(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def as_csv(report: str, row: tuple) -> list[str]:
    out = []
    for index, value in enumerate(row):
        if value is None:
            out.append("")
        elif index in TEXT[report]:
            out.append("'" + value if value.startswith(FORMULA_START) else value)
        elif isinstance(value, dt.datetime):
            out.append(iso_ms(value))
        else:
            out.append(str(value) if not isinstance(value, dt.date) else value.isoformat())
    return out


def as_json(row: tuple) -> list:
    out = []
    for value in row:
        if isinstance(value, dt.datetime):
            out.append(iso_ms(value))
        elif isinstance(value, dt.date):
            out.append(value.isoformat())
        else:
            out.append(value)
    return out


def as_xlsx(row: tuple) -> list:
    out = []
    for value in row:
        if isinstance(value, Decimal):
            out.append(float(value))
        elif isinstance(value, dt.datetime):
            out.append(value.astimezone(dt.UTC).replace(tzinfo=None))
        elif isinstance(value, dt.date):
            out.append(dt.datetime.combine(value, dt.time()))
        else:
            out.append(value)
    return out


def read_csv(path: Path) -> list[list[str]]:
    with open(path, newline="", encoding="utf-8") as file:
        return list(csv.reader(file))


def read_json(path: Path) -> list[dict]:
    return json.loads(path.read_bytes(), parse_float=Decimal)


_XSTRING_ESCAPE = re.compile(r"_x([0-9A-Fa-f]{4})_")


def _unescape(value):
    """OOXML writes control characters as _xHHHH_ (Excel decodes them; openpyxl does not)."""
    return _XSTRING_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), value) if isinstance(value, str) else value


def read_xlsx(path: Path) -> list[list]:
    workbook = openpyxl.load_workbook(path, read_only=True)
    try:
        return [[_unescape(v) for v in row] for row in workbook.worksheets[0].iter_rows(values_only=True)]
    finally:
        workbook.close()


def close_datetimes(got: list, want: list) -> bool:
    """XLSX stores date-times as fractions of days: equal to the millisecond."""
    for a, b in zip(got, want, strict=True):
        if isinstance(b, dt.datetime):
            if not isinstance(a, dt.datetime) or abs((a - b).total_seconds()) > 0.001:
                return False
        elif a != b:
            return False
    return True


async def export_file(
    pool: asyncpg.Pool, path: Path, payload: dict, organization_id: str = "org_acme", total: int = 1000
) -> tuple[int, list[float]]:
    """Runs the payload's writer into ``path``; returns the row count and the progress
    fractions it reported."""
    request = check_request(payload, organization_id, "user_admin")
    pending = await LocalDiskStorage(path.parent).begin(path.name)
    writer = WRITERS[request.format].into(pending)
    fractions: list[float] = []

    async def report(fraction: float) -> None:
        fractions.append(fraction)

    try:
        async with pool.acquire() as conn:
            count = await writer.write_rows(conn, request, RowProgress(total, report))
        await writer.finish()
    finally:
        await writer.close()
    await pending.commit()
    return count, fractions
