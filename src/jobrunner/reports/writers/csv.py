"""CSV through PostgreSQL's ``COPY (SELECT ...) TO STDOUT WITH (FORMAT csv, HEADER)``,
streamed chunk by chunk into the pending file (``out``): the database does the formatting, RFC 4180 quoting
and formula neutralisation (``reports/sql.py``). UTF-8, header row, LF line ends."""

from __future__ import annotations

import asyncpg

from jobrunner.reports.sql import csv_select
from jobrunner.reports.validation import ExportRequest
from jobrunner.reports.writers.base import RowProgress, Writer


class CsvWriter(Writer):
    format = "csv"
    extension = "csv"
    content_type = "text/csv; charset=utf-8"

    async def write_rows(self, conn: asyncpg.Connection, request: ExportRequest, progress: RowProgress) -> int:
        lines = 0
        out = self.out

        async def sink(chunk: bytes) -> None:
            nonlocal lines
            await out.write(chunk)
            # Line count approximates rows (a quoted value may hold a line break);
            # it only drives the progress bar, the count comes from COPY's status.
            lines += chunk.count(b"\n")
            await progress.rows(max(lines - 1, 0))

        status = await conn.copy_from_query(
            csv_select(request.report),
            *request.arguments(),
            output=sink,
            format="csv",
            header=True,
            encoding="UTF8",
        )
        return int(status.split()[-1])
