"""The writers against the real database: every file parsed back and compared row by row
with the tests' own query; filters; isolation; formula neutralisation."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from jobrunner.reports import REPORTS
from tests.integration.exports.expected import (
    as_csv,
    as_json,
    as_xlsx,
    close_datetimes,
    expected_rows,
    export_file as export,
    in_range_utc,
    read_csv,
    read_json,
    read_xlsx,
)


def check_file(fmt: str, report: str, path: Path, expected: list[tuple]) -> None:
    headers = [c.header for c in REPORTS[report].columns]
    if fmt == "csv":
        rows = read_csv(path)
        assert rows[0] == headers
        assert rows[1:] == [as_csv(report, r) for r in expected]
    elif fmt == "json":
        objects = read_json(path)
        keys = [c.json_key for c in REPORTS[report].columns]
        assert [list(o) for o in objects] == [keys] * len(objects)
        assert [list(o.values()) for o in objects] == [as_json(r) for r in expected]
    else:
        rows = read_xlsx(path)
        assert rows[0] == headers
        assert len(rows) - 1 == len(expected)
        for got, want in zip(rows[1:], expected):
            assert close_datetimes(got, as_xlsx(want)), (got, want)


@pytest.mark.parametrize("fmt", ["csv", "json", "xlsx"])
@pytest.mark.parametrize("report", ["quotes", "customers", "audit_log"])
async def test_whole_report_matches_the_database(seeded, tmp_path, fmt, report) -> None:
    path = tmp_path / f"out.{fmt}"
    count, fractions = await export(seeded, path, {"reportType": report, "format": fmt})
    expected = await expected_rows(seeded, report)
    assert count == len(expected) > 0
    check_file(fmt, report, path, expected)
    assert fractions and fractions == sorted(fractions)


@pytest.mark.parametrize("fmt", ["csv", "json", "xlsx"])
async def test_quote_filters(seeded, tmp_path, fmt) -> None:
    filters = {"dateFrom": "2024-02-01", "dateTo": "2024-03-15", "status": "sent"}
    path = tmp_path / f"out.{fmt}"
    count, _ = await export(seeded, path, {"reportType": "quotes", "format": fmt, "filters": filters})
    expected = await expected_rows(
        seeded, "quotes", keep=lambda r: r[3] == "sent" and in_range_utc("2024-02-01", "2024-03-15", r[9])
    )
    assert 0 < count == len(expected) < len(await expected_rows(seeded, "quotes"))
    check_file(fmt, "quotes", path, expected)


async def test_date_bounds_are_whole_utc_days(seeded, tmp_path) -> None:
    # Quotes are created 9 hours apart from 2024-01-01 08:00:00.123Z.
    path = tmp_path / "out.csv"
    count, _ = await export(
        seeded,
        path,
        {"reportType": "quotes", "format": "csv", "filters": {"dateFrom": "2024-01-05", "dateTo": "2024-01-05"}},
    )
    expected = await expected_rows(seeded, "quotes", keep=lambda r: in_range_utc("2024-01-05", "2024-01-05", r[9]))
    assert count == len(expected) > 0
    assert {row[9][:10] for row in read_csv(path)[1:]} == {"2024-01-05"}


@pytest.mark.parametrize("fmt", ["csv", "json", "xlsx"])
@pytest.mark.parametrize("report", ["quotes", "customers", "audit_log"])
async def test_never_another_organizations_rows(seeded, tmp_path, fmt, report) -> None:
    path = tmp_path / f"out.{fmt}"
    await export(seeded, path, {"reportType": report, "format": fmt})
    content = path.read_bytes() if fmt != "xlsx" else repr(read_xlsx(path)).encode()
    for marker in (b"GLOBEX", b"globex", b"user_globex"):
        assert marker not in content
    # And Globex's own export holds exactly Globex's rows.
    globex = tmp_path / f"globex.{fmt}"
    count, _ = await export(seeded, globex, {"reportType": report, "format": fmt}, organization_id="org_globex")
    assert count == len(await expected_rows(seeded, report, "org_globex")) > 0


async def test_csv_neutralises_formulas_and_json_xlsx_keep_text(seeded, tmp_path) -> None:
    csv_path, json_path, xlsx_path = tmp_path / "c.csv", tmp_path / "c.json", tmp_path / "c.xlsx"
    for path in (csv_path, json_path, xlsx_path):
        await export(seeded, path, {"reportType": "customers", "format": path.suffix[1:]})
    names = [row[1] for row in read_csv(csv_path)[1:]]
    dangerous = [n for n in names if n[:1] in ("=", "+", "-", "@", "\t", "\r")]
    assert dangerous == []
    assert '\'=HYPERLINK("http://x")' in names and "'@SUM(A1)" in names and "'\rReturn" in names
    assert '=HYPERLINK("http://x")' in [o["name"] for o in read_json(json_path)]
    # In the workbook the value is a string cell (never a formula): openpyxl reads it back as text.
    cells = [row[1] for row in read_xlsx(xlsx_path)[1:]]
    assert '=HYPERLINK("http://x")' in cells


async def test_money_is_exact_with_its_currency(seeded, tmp_path) -> None:
    path = tmp_path / "q.json"
    await export(seeded, path, {"reportType": "quotes", "format": "json"})
    for quote in read_json(path):
        assert isinstance(quote["total"], Decimal) and quote["total"] == quote["subtotal"] + quote["tax"]
        assert quote["currency"] in {"EUR", "USD", "CHF"}


@pytest.mark.parametrize("fmt", ["csv", "json", "xlsx"])
async def test_empty_report_is_a_valid_file(seeded, tmp_path, fmt) -> None:
    path = tmp_path / f"empty.{fmt}"
    filters = {"dateFrom": "2030-01-01"}
    count, _ = await export(seeded, path, {"reportType": "quotes", "format": fmt, "filters": filters})
    assert count == 0
    parsed = {"csv": read_csv, "json": read_json, "xlsx": read_xlsx}[fmt](path)
    assert parsed == ([] if fmt == "json" else [[c.header for c in REPORTS["quotes"].columns]])


async def test_xlsx_continues_on_another_sheet_when_one_is_full(seeded, tmp_path, monkeypatch) -> None:
    import openpyxl

    import jobrunner.reports.writers.xlsx as xlsx

    monkeypatch.setattr(xlsx, "MAX_SHEET_ROWS", 101)  # 100 rows and the header per sheet
    path = tmp_path / "split.xlsx"
    count, _ = await export(seeded, path, {"reportType": "quotes", "format": "xlsx"})
    workbook = openpyxl.load_workbook(path, read_only=True)
    sheets = [[list(r) for r in sheet.iter_rows(values_only=True)] for sheet in workbook.worksheets]
    workbook.close()
    headers = [c.header for c in REPORTS["quotes"].columns]
    assert [s[0] for s in sheets] == [headers] * len(sheets)
    assert [len(s) - 1 for s in sheets[:-1]] == [100] * (len(sheets) - 1) and len(sheets) > 2
    assert sum(len(s) - 1 for s in sheets) == count
    assert workbook.sheetnames[:2] == ["Quotes", "Quotes (2)"]
    numbers = [row[0] for sheet in sheets for row in sheet[1:]]
    assert numbers == [r[0] for r in await expected_rows(seeded, "quotes")]
