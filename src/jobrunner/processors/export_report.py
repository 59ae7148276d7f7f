"""``export_report``: the document's six steps over a streaming export.

Each step starts at the progress the document gives it (20, 40, 60, 80, 95, 100). In a
streaming export querying, processing and formatting happen together, row by row, and
that is nearly all of the time; so the row stream runs through the bands of steps 2, 3
and 4 (40 -> 95) in proportion to rows written, and the bar moves with the work instead
of jumping to 60 and crawling:

1. Validate parameters (20): report type, filters, dates, the report's permission
   (``reports/validation.py``); a failure is permanent, "Invalid export job payload: ...".
2. Query data (40): ask the planner how many rows the report selects (the denominator:
   an estimate, as counting exactly would scan the data twice; ``RowProgress`` slows the
   bar rather than stopping it when the estimate is low), open the temporary file and
   start streaming rows (COPY for CSV and XLSX, a server-side cursor for JSON).
3. Process results (60): entered when the rows written reach the band's start.
4. Format output (80): likewise; then the format is completed (JSON's closing bracket,
   the XLSX zip's last parts), which takes little time as everything was written as it came.
5. Generate file (95): publish the file under its key, atomically (local disk: fsync and
   rename; object store: complete the multipart upload).
6. Finalize (100): record the file for downloads and retention; return the result.

Cancellation is checked after every chunk or batch. A cancelled, failed or timed-out
attempt removes its temporary file (and a published file, if it got that far) through
``ctx.on_cleanup``.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Awaitable, Callable

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
ROW_STEPS = (2, 3, 4)  # the steps the row stream runs through (see the module's docstring)


def row_stream_progress(ctx: JobContext[ExportReportPayload]) -> Callable[[float], Awaitable[None]]:
    """Reports the fraction of rows written as progress across the bands of ``ROW_STEPS``,
    starting each step when the bar reaches it."""
    steps = ctx.declaration.steps
    first, last = ROW_STEPS[0], ROW_STEPS[-1]
    start, end = steps[first - 1].progress, steps[last].progress

    async def report(fraction: float) -> None:
        target = start + fraction * (end - start)
        step = ctx.state.step
        while step < last and target >= steps[step].progress:
            step += 1
            await ctx.step(step)
        band_start = steps[step - 1].progress
        await ctx.progress((target - band_start) / (steps[step].progress - band_start))

    return report


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
        progress = RowProgress(total, row_stream_progress(ctx), ctx.check_cancelled)
        async with ctx.pool.acquire() as conn:
            record_count = await writer.write_rows(conn, request, progress)
        EXPORT_ROWS.inc(record_count)
        ctx.check_cancelled()
        for step in range(ctx.state.step + 1, ROW_STEPS[-1] + 1):
            await ctx.step(step)  # a short report (or an estimate too high) ends its row steps here
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
