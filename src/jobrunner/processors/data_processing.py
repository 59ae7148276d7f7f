"""``data_processing`` (operation ``import``): an uploaded CSV of customers or quotes into
the organization's tables.

Steps: 1 validate the header → 2 parse and check every row (good rows to a spool, bad
ones to the rejected-rows file) → 3 write the good rows in batches (progress by rows) →
4 finalize (publish the rejected-rows file). Each batch commits with a marker, so a retried
attempt writes no row twice.

Permanent: the upload does not exist (or is another user's), is empty, its header does
not suit the dataset, or the file is beyond a limit (columns, fields in a record, line
length: ``imports/parse.py``). Transient: anything else (the database, the disk).

Parsing, checking and file writing run in a worker thread in short slices
(``worker/offload.py``): the event loop, which also serves the API under ``jobrunner
serve``, only moves progress and notices cancels between slices."""

from __future__ import annotations

import asyncio
from typing import Any

from jobrunner.db.sql import Q
from jobrunner.domain.errors import PermanentError
from jobrunner.domain.jobtypes import Step
from jobrunner.domain.payloads import DataProcessingPayload
from jobrunner.domain.results import DataProcessingResult
from jobrunner.imports.datasets import DATASETS, header_problem, positions
from jobrunner.imports.parse import (
    Limits,
    Parsed,
    RejectedRows,
    TooLarge,
    count_records_estimate,
    parse_batches,
    read_header,
)
from jobrunner.imports.write import write_batches
from jobrunner.storage import FileMissing
from jobrunner.uploads.links import rejected_rows_path
from jobrunner.uploads.store import UploadStore, rejected_rows_key
from jobrunner.worker.context import JobContext
from jobrunner.worker.offload import run_sliced
from jobrunner.worker.registry import job_type

STEPS = [
    Step(10, "Validate header"),
    Step(15, "Parse and validate rows"),
    Step(40, "Write in batches"),
    Step(95, "Finalize"),
]
INVALID = "Invalid import payload"


@job_type(
    "data_processing",
    payload=DataProcessingPayload,
    result=DataProcessingResult,
    permission="data.process_data",
    steps=STEPS,
    timeout_seconds=3600,
)
async def run_import(ctx: JobContext[DataProcessingPayload]) -> dict[str, Any]:
    """Import an uploaded CSV of customers or quotes, rejecting bad rows into a CSV."""
    payload = ctx.payload
    dataset = DATASETS[payload.dataset]
    store = UploadStore.from_settings(ctx.settings)

    await ctx.step(1)
    upload = await ctx.pool.fetchrow(Q.find_upload, payload.uploadId, ctx.organization_id, ctx.user_id)
    if upload is None:
        raise PermanentError(f"{INVALID}: upload {payload.uploadId} not found")
    # Parsing reads a local file: the stored one on local disk, else a copy fetched from
    # the object store into this worker's scratch (removed like the other work files).
    copy_path = store.work_file(ctx.job_id, "source.csv")
    ctx.on_cleanup(lambda: _remove(copy_path))
    gone = f"{INVALID}: the file of upload {payload.uploadId} is gone"
    try:
        source = await store.storage.local_file(upload["storage_key"], copy_path)
    except FileMissing as exc:
        raise PermanentError(gone) from exc
    limits = Limits(max_columns=ctx.settings.import_max_columns, max_line_chars=ctx.settings.import_max_line_chars)
    try:
        header = await asyncio.to_thread(read_header, source, limits)
        estimate = await asyncio.to_thread(count_records_estimate, source)
    except FileNotFoundError as exc:
        raise PermanentError(gone) from exc
    except TooLarge as exc:
        raise PermanentError(f"{INVALID}: {exc}") from exc
    if not header:
        raise PermanentError(f"{INVALID}: the file is empty or has no header line")
    problem = header_problem(dataset, header)
    if problem:
        raise PermanentError(f"{INVALID}: the header does not suit {dataset.name} ({problem})")

    spool_path = store.work_file(ctx.job_id, "spool")
    rejected_path = store.work_file(ctx.job_id, "rejected.csv")
    ctx.on_cleanup(lambda: _remove(spool_path, rejected_path))
    rejected = RejectedRows(rejected_path, header)
    parsed = Parsed()
    try:
        await ctx.step(2)
        check = dataset.make_check(positions(header))

        async def between_slices() -> None:
            ctx.check_cancelled()
            await ctx.progress(parsed.records / estimate)

        with open(spool_path, "wb") as spool:
            try:
                await run_sliced(
                    parse_batches(source, check, ctx.settings.import_batch_size, spool, rejected, parsed, limits),
                    between_slices,
                )
            except TooLarge as exc:
                raise PermanentError(f"{INVALID}: {exc}") from exc

        await ctx.step(3)

        async def report(rows: int) -> None:
            ctx.check_cancelled()
            await ctx.progress(rows / max(parsed.records, 1))

        async with ctx.pool.acquire() as conn:
            written = await write_batches(
                conn,
                job_id=ctx.job_id,
                organization_id=ctx.organization_id,
                dataset=dataset,
                mode=payload.mode,
                spool=spool_path,
                rejected=rejected,
                report=report,
            )
    finally:
        rejected.close()

    await ctx.step(4)
    rejected_count = parsed.records - written.inserted - written.updated
    if rejected_count != rejected.count:  # every record is counted exactly once
        raise RuntimeError(f"import tally mismatch: {rejected_count} rejected by count, {rejected.count} listed")
    if rejected.count:
        await store.storage.put_file(rejected_rows_key(ctx.job_id), rejected_path)
    _remove(spool_path, rejected_path, copy_path)
    return {
        "dataset": dataset.name,
        "mode": payload.mode,
        "fileName": upload["filename"],
        "recordCount": parsed.records,
        "inserted": written.inserted,
        "updated": written.updated,
        "rejected": rejected.count,
        "rejectedRowsUrl": rejected_rows_path(ctx.job_id) if rejected.count else None,
        "batches": parsed.batches,
        "batchesResumed": written.batches_skipped,
    }


def _remove(*paths: Any) -> None:
    for path in paths:
        path.unlink(missing_ok=True)
