"""``cleanup``: retention for one organization. Deletes its export files that expired or
are older than the threshold, its uploads older than the threshold (unless an unfinished
import still needs one), and its finished jobs completed before the threshold (never a
queued, running or retrying one), each in small batches of short transactions; and the
writes that a killed process left unfinished in storage (``abort_abandoned_writes``).

Failures are transient (the database or the disk); there is no permanent one beyond the
payload's validation. Deleting is idempotent: a retried attempt carries on."""

from __future__ import annotations

from typing import Any

from jobrunner.db.sql import Q
from jobrunner.domain.jobtypes import Step
from jobrunner.domain.payloads import CleanupPayload
from jobrunner.domain.results import CleanupResult
from jobrunner.timestamps import iso_utc
from jobrunner.retention.files import Batch, run_batches
from jobrunner.retention.jobs import job_batch
from jobrunner.storage import abort_abandoned_writes, export_storage, upload_storage
from jobrunner.worker.context import JobContext
from jobrunner.worker.registry import job_type

STEPS = [
    Step(10, "Find what to delete"),
    Step(20, "Delete export files"),
    Step(50, "Delete uploads"),
    Step(75, "Delete finished jobs"),
]
BATCH_SIZE = 500


@job_type(
    "cleanup",
    payload=CleanupPayload,
    result=CleanupResult,
    permission="maintenance.run_cleanup",
    steps=STEPS,
    timeout_seconds=3600,
)
async def run_cleanup(ctx: JobContext[CleanupPayload]) -> dict[str, Any]:
    """Delete the organization's expired export files, old uploads and old finished jobs."""
    payload = ctx.payload
    targets = {"exports", "uploads", "jobs"} if payload.target == "all" else {payload.target}
    org = ctx.organization_id
    await ctx.step(1)
    cutoff = await ctx.pool.fetchval(Q.cleanup_cutoff, payload.olderThanDays)
    counts = {"exports": (0, 0), "uploads": (0, 0), "jobs": (0, 0)}

    await ctx.step(2)
    if "exports" in targets:
        exports = export_storage(ctx.settings)

        async def exports_batch() -> tuple[int, int]:
            keys = [
                row["storage_key"]
                for row in await ctx.pool.fetch(Q.mark_old_export_files_deleted, org, cutoff, BATCH_SIZE)
            ]
            return len(keys), await exports.delete_many(keys)

        counts["exports"] = await _in_batches(
            ctx, await ctx.pool.fetchval(Q.count_old_export_files, org, cutoff), exports_batch
        )

    await ctx.step(3)
    if "uploads" in targets:
        uploads = upload_storage(ctx.settings)

        async def uploads_batch() -> tuple[int, int]:
            keys = [row["storage_key"] for row in await ctx.pool.fetch(Q.delete_old_uploads, org, cutoff, BATCH_SIZE)]
            return len(keys), await uploads.delete_many(keys)

        counts["uploads"] = await _in_batches(
            ctx, await ctx.pool.fetchval(Q.count_old_uploads, org, cutoff), uploads_batch
        )

    if targets & {"exports", "uploads"}:
        # Writes a killed process left unfinished (incomplete multipart uploads,
        # temporary files): any organization's, they have no owner yet.
        await abort_abandoned_writes(ctx.settings)

    await ctx.step(4)
    if "jobs" in targets:
        jobs_batch = job_batch(ctx.pool, ctx.settings, Q.lock_old_jobs, org, cutoff, BATCH_SIZE)
        counts["jobs"] = await _in_batches(ctx, await ctx.pool.fetchval(Q.count_old_jobs, org, cutoff), jobs_batch)

    return {
        "target": payload.target,
        "olderThanDays": payload.olderThanDays,
        "cutoff": iso_utc(cutoff),
        "exportFilesDeleted": counts["exports"][0],
        "uploadsDeleted": counts["uploads"][0],
        "jobsDeleted": counts["jobs"][0],
        "bytesFreed": sum(freed for _, freed in counts.values()),
    }


async def _in_batches(ctx: JobContext[CleanupPayload], total: int, batch: Batch) -> tuple[int, int]:
    async def after_each(deleted: int) -> None:
        await ctx.progress(deleted / max(total, deleted))
        ctx.check_cancelled()

    ctx.check_cancelled()
    return await run_batches(batch, after_each=after_each)
