"""XLSX: a real workbook written by XlsxWriter in ``constant_memory`` mode (each row goes
to disk as soon as the next starts), a bold frozen header row, typed cells: numbers,
money with two decimals (its currency is its own column), dates and UTC date-times.

Rows come from a server-side cursor in batches; each batch is written in a thread so the
worker's event loop (heartbeats, other jobs) never waits on spreadsheet encoding. A
report longer than a sheet's 1,048,576 rows continues on another sheet."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Any

import asyncpg
import xlsxwriter

from jobrunner.reports.registry import Kind, Report
from jobrunner.reports.sql import typed_select
from jobrunner.reports.validation import ExportRequest
from jobrunner.reports.writers.base import BATCH_ROWS, RowProgress, Writer

MAX_SHEET_ROWS = 1_048_576
NUMBER_FORMATS = {
    Kind.MONEY: "#,##0.00",
    Kind.DATE: "yyyy-mm-dd",
    Kind.TIMESTAMP: "yyyy-mm-dd hh:mm:ss.000",
}
COLUMN_WIDTHS = {Kind.TEXT: 24, Kind.INTEGER: 12, Kind.MONEY: 14, Kind.DATE: 12, Kind.TIMESTAMP: 24}

CellWriter = Callable[[int, int, Any, Any], Any]


class XlsxWriter(Writer):
    format = "xlsx"
    extension = "xlsx"
    content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

    def __init__(self, path) -> None:
        super().__init__(path)
        self.workbook: Any
        # remove_timezone: asyncpg returns timestamptz in UTC; cells hold that UTC time.
        self.workbook = xlsxwriter.Workbook(
            str(path), {"constant_memory": True, "remove_timezone": True, "tmpdir": str(path.parent)}
        )
        self.sheet: Any = None
        self.row = 0
        self.sheets = 0
        self.header_format = self.workbook.add_format({"bold": True})

    async def write_rows(self, conn: asyncpg.Connection, request: ExportRequest, progress: RowProgress) -> int:
        report = request.report
        self.formats = {
            kind: self.workbook.add_format({"num_format": NUMBER_FORMATS[kind]}) if kind in NUMBER_FORMATS else None
            for kind in Kind
        }
        self._new_sheet(report)
        written = 0
        async with conn.transaction(isolation="repeatable_read", readonly=True):
            cursor = await conn.cursor(typed_select(report), *request.arguments())
            while rows := await cursor.fetch(BATCH_ROWS):
                await asyncio.to_thread(self._write_batch, report, rows)
                written += len(rows)
                await progress.rows(written)
        return written

    async def finish(self) -> None:
        await asyncio.to_thread(self.workbook.close)
        self.workbook = None

    async def close(self) -> None:
        if self.workbook is not None:
            # Unfinished (failed or cancelled): close to release its temporary files.
            await asyncio.to_thread(self._close_quietly)
            self.workbook = None

    def _close_quietly(self) -> None:
        try:
            self.workbook.close()
        except Exception:  # noqa: BLE001 - the partial file is deleted by the caller anyway
            pass

    def _cell_writers(self, report: Report) -> list[tuple[CellWriter, Any]]:
        """Per column: the sheet's write method for its kind, and its cell format."""
        methods = {
            Kind.TEXT: self.sheet.write_string,
            Kind.INTEGER: self.sheet.write_number,
            Kind.MONEY: self.sheet.write_number,
            Kind.DATE: self.sheet.write_datetime,
            Kind.TIMESTAMP: self.sheet.write_datetime,
        }
        return [(methods[c.kind], self.formats[c.kind]) for c in report.columns]

    def _new_sheet(self, report: Report) -> None:
        self.sheets += 1
        name = report.title if self.sheets == 1 else f"{report.title} ({self.sheets})"
        self.sheet = self.workbook.add_worksheet(name[:31])
        for col, column in enumerate(report.columns):
            self.sheet.set_column(col, col, COLUMN_WIDTHS[column.kind])
            self.sheet.write_string(0, col, column.header, self.header_format)
        self.sheet.freeze_panes(1, 0)
        self.row = 0
        self.cells = self._cell_writers(report)

    def _write_batch(self, report: Report, rows: Sequence[asyncpg.Record]) -> None:
        for record in rows:
            if self.row + 1 >= MAX_SHEET_ROWS:
                self._new_sheet(report)
            self.row += 1
            row, cells = self.row, self.cells
            for col, value in enumerate(record):
                if value is not None:
                    write, fmt = cells[col]
                    write(row, col, value, fmt)
