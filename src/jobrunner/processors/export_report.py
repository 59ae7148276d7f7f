"""``export_report``: the document's six steps over a streaming export.

How the steps map onto streaming (progress is the step's start, then moves inside its
band while rows stream):

1. Validate parameters (20): report type, filters, dates, the report's permission
   (``reports/validation.py``); a failure is permanent, "Invalid export job payload: ...".
2. Query data (40): ask the planner how many rows the report selects (the progress
   bar's denominator: an estimate, so the bar may rest near the band's top or jump at
   its end; counting exactly would scan the data twice) and open the temporary file.
3. Process results (60 -> 80): stream the rows from PostgreSQL into the format's writer
   (COPY for CSV, a server-side cursor for JSON and XLSX); progress follows rows written,
   and cancellation is checked after every chunk or batch.
4. Format output (80): complete the format (JSON's closing bracket, the XLSX zip).
5. Generate file (95): publish the file under its key, atomically (local disk: fsync and
   rename; object store: complete the multipart upload).
6. Finalize (100): record the file for downloads and retention; return the result.

A cancelled, failed or timed-out attempt removes its temporary file (and a published
file, if it got that far) through ``ctx.on_cleanup``.
"""

from __future__ import annotations

import datetime as dt
import functools

from jobrunner.domain.jobtypes import Step
from jobrunner.domain.payloads import ExportReportPayload
from jobrunner.domain.results import ExportReportResult
from jobrunner.exports.files import ExportFile, discard_export, record_export_file
from jobrunner.exports.naming import download_name, download_path, storage_key
from jobrunner.observability.metrics import EXPORT_ROWS
from jobrunner.reports.sql import estimate_select, estimated_rows
from jobrunner.reports.validation import validate_export
from jobrunner.reports.writers import WRITERS, RowProgress
from jobrunner.storage import export_storage
from jobrunner.timestamps import iso_utc
from jobrunner.worker.context import JobContext
from jobrunner.worker.registry import job_type

EXPORT_STEPS = (
    Step(20, "Validate parameters"),
    Step(40, "Query data"),
    Step(60, "Process results"),
    Step(80, "Format output"),
    Step(95, "Generate file"),
    Step(100, "Finalize"),
)
EXPORT_TIMEOUT_SECONDS = 3600.0


@job_type(
    "export_report",
    payload=ExportReportPayload,
    result=ExportReportResult,
    permission="reports.export_reports",
    steps=EXPORT_STEPS,
    timeout_seconds=EXPORT_TIMEOUT_SECONDS,
)
async def export_report(ctx: JobContext[ExportReportPayload]) -> dict:
    """Export a report (quotes, customers, audit_log) as CSV, JSON or XLSX."""
    await ctx.step(1)
    request = await validate_export(ctx.pool, ctx.payload, ctx.organization_id, ctx.user_id)

    await ctx.step(2)
    writer_class = WRITERS[request.format]
    storage = export_storage(ctx.settings)
    key = storage_key(ctx.job_id, writer_class.extension)
    total = estimated_rows(await ctx.pool.fetchval(estimate_select(request.report), *request.arguments()))
    ctx.check_cancelled()
    pending = await storage.begin(key)
    ctx.on_cleanup(pending.abort)
    writer = writer_class.into(pending)
    try:
        await ctx.step(3)
        progress = RowProgress(total, ctx.progress, ctx.check_cancelled)
        async with ctx.pool.acquire() as conn:
            record_count = await writer.write_rows(conn, request, progress)
        EXPORT_ROWS.inc(record_count)
        ctx.check_cancelled()
        await ctx.step(4)
        await writer.finish()
    finally:
        await writer.close()

    ctx.check_cancelled()
    await ctx.step(5)
    size = await pending.commit()
    ctx.on_cleanup(functools.partial(discard_export, ctx.pool, storage, ctx.job_id, key))

    await ctx.step(6)
    generated_at = dt.datetime.now(dt.UTC)
    expires_at = generated_at + dt.timedelta(days=ctx.settings.export_retention_days)
    await record_export_file(
        ctx.pool,
        ExportFile(
            job_id=ctx.job_id,
            organization_id=ctx.organization_id,
            user_id=ctx.user_id,
            report_type=request.report.name,
            format=request.format,
            storage_key=key,
            download_name=download_name(request.report.name, writer_class.extension, generated_at),
            content_type=writer_class.content_type,
            size_bytes=size,
            record_count=record_count,
            created_at=generated_at,
            expires_at=expires_at,
        ),
    )
    return {
        # A placeholder: every status answer carries a freshly signed link instead
        # (exports/presenter.py).
        "downloadUrl": download_path(ctx.job_id),
        "fileSize": size,
        "recordCount": record_count,
        "generatedAt": iso_utc(generated_at),
        "reportType": request.report.name,
        "format": request.format,
        "expiresAt": iso_utc(expires_at),
    }
