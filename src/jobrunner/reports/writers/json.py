"""JSON: one array of objects (not NDJSON), keys camelCase in the report's column order.
PostgreSQL builds each object (``json_build_object``); rows come from a server-side
cursor in batches and are appended to the pending file (``out``) as they arrive."""

from __future__ import annotations

import asyncpg

from jobrunner.reports.sql import json_select
from jobrunner.reports.validation import ExportRequest
from jobrunner.reports.writers.base import BATCH_ROWS, RowProgress, Writer


class JsonWriter(Writer):
    format = "json"
    extension = "json"
    content_type = "application/json"

    async def write_rows(self, conn: asyncpg.Connection, request: ExportRequest, progress: RowProgress) -> int:
        written = 0
        out = self.out
        await out.write(b"[")
        async with conn.transaction(isolation="repeatable_read", readonly=True):
            cursor = await conn.cursor(json_select(request.report), *request.arguments())
            while rows := await cursor.fetch(BATCH_ROWS):
                await out.write((",\n" if written else "\n").encode() + ",\n".join(row[0] for row in rows).encode())
                written += len(rows)
                await progress.rows(written)
        await out.write(b"\n]\n" if written else b"]\n")
        return written
