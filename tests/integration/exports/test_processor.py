"""The export_report processor run on a real job row through the real context with an in-memory reporter: the six
steps and their progress, the result, the recorded file, step-1 validation, cleanup."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path

import pytest

from jobrunner.domain.errors import PermanentError
from jobrunner.exports.files import find_export_file
from jobrunner.worker.context import JobCancelled
from jobrunner.worker.standalone import run_in_memory
from tests.integration.exports.expected import expected_rows, read_csv


def files_under(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


@pytest.mark.parametrize("fmt", ["csv", "json", "xlsx"])
async def test_six_steps_result_and_file(make_context, settings, fmt) -> None:
    ctx = await make_context(
        {"reportType": "quotes", "format": fmt, "filters": {"dateFrom": "2024-01-01", "dateTo": "2024-12-31"}}
    )
    result = await run_in_memory(ctx)

    steps = [step for step, _ in ctx.reporter.history]
    progress = [value for _, value in ctx.reporter.history]
    assert progress == sorted(progress) and progress[-1] == 100
    assert sorted(set(steps)) == [1, 2, 3, 4, 5, 6] and steps == sorted(steps)
    for step, start in zip(range(1, 7), (20, 40, 60, 80, 95, 100)):
        assert (step, start) in ctx.reporter.history

    expected = len(await expected_rows(ctx.pool, "quotes"))
    stored = await find_export_file(ctx.pool, ctx.job_id)
    path = Path(settings.data_dir) / "exports" / stored.storage_key
    assert result["recordCount"] == expected == stored.record_count
    assert result["fileSize"] == path.stat().st_size == stored.size_bytes
    assert result["reportType"] == "quotes" and result["format"] == fmt
    assert result["downloadUrl"] == f"/v1/exports/{ctx.job_id}/download"
    generated = dt.datetime.strptime(result["generatedAt"], "%Y-%m-%dT%H:%M:%S.%fZ")
    expires = dt.datetime.strptime(result["expiresAt"], "%Y-%m-%dT%H:%M:%S.%fZ")
    assert expires - generated == dt.timedelta(days=settings.export_retention_days)
    assert stored.download_name == f"quotes_{generated:%Y-%m-%d}.{fmt}"
    assert str(ctx.job_id) in stored.storage_key
    assert files_under(Path(settings.data_dir) / "exports") == [path]  # no temporary left


async def test_progress_moves_inside_the_row_band(make_context) -> None:
    ctx = await make_context({"reportType": "quotes", "format": "json"})
    await run_in_memory(ctx)
    # The rows run through the bands of steps 2-4 (40 -> 95), each step started on the way.
    inside = [value for step, value in ctx.reporter.history if step in (2, 3, 4) and 40 < value < 95]
    assert inside, ctx.reporter.history


@pytest.mark.parametrize(
    ("payload", "user_id", "reason"),
    [
        ({"reportType": "invalid_report", "format": "csv"}, "user_admin", "unknown report type 'invalid_report'"),
        (
            {"reportType": "customers", "format": "csv", "filters": {"status": "sent"}},
            "user_admin",
            "filter 'status' is not supported by report 'customers'",
        ),
        (
            {"reportType": "quotes", "format": "csv", "filters": {"dateFrom": "2024-12-31", "dateTo": "2024-01-01"}},
            "user_admin",
            "dateFrom 2024-12-31 is after dateTo 2024-01-01",
        ),
        (
            {"reportType": "quotes", "format": "csv", "filters": {"status": "paid"}},
            "user_admin",
            "filter 'status' must be one of",
        ),
        ({"reportType": "audit_log", "format": "csv"}, "user_member", "needs the permission reports.export_audit_log"),
    ],
)
async def test_step_one_rejects_invalid_payloads(make_context, settings, payload, user_id, reason) -> None:
    ctx = await make_context(payload, user_id=user_id)
    with pytest.raises(PermanentError) as caught:
        await run_in_memory(ctx)
    assert str(caught.value).startswith("Invalid export job payload: ")
    assert reason in str(caught.value)
    assert ctx.reporter.history == [(1, 20)]  # the transcript: progress 20, currentStep 1
    assert files_under(Path(settings.data_dir)) == []


async def test_admin_may_export_the_audit_log(make_context) -> None:
    ctx = await make_context({"reportType": "audit_log", "format": "csv"}, user_id="user_admin")
    result = await run_in_memory(ctx)
    assert result["recordCount"] == len(await expected_rows(ctx.pool, "audit_log"))


async def test_revoked_role_counts_at_once(make_context) -> None:
    ctx = await make_context({"reportType": "audit_log", "format": "csv"}, user_id="user_admin")
    await ctx.pool.execute("DELETE FROM user_roles WHERE user_id = 'user_admin'")
    with pytest.raises(PermanentError, match="needs the permission"):
        await run_in_memory(ctx)


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
async def test_cancel_mid_export_leaves_no_file(make_context, settings, fmt) -> None:
    ctx = await make_context({"reportType": "quotes", "format": fmt})
    # Enough rows that the export spans several chunks/batches.
    await ctx.pool.execute(
        """INSERT INTO quotes (organization_id, quote_number, customer_id, status, currency, subtotal, tax, total, valid_until)
           SELECT 'org_acme', 'BULK-' || i, (SELECT min(id) FROM customers WHERE organization_id = 'org_acme'),
                  'draft', 'EUR', 1, 0, 1, date '2025-01-01' FROM generate_series(1, 15000) i"""
    )
    original = ctx.progress

    async def cancel_during_rows(fraction: float) -> None:
        await original(fraction)
        if fraction > 0:  # rows are streaming
            ctx.cancelled.set()

    ctx.progress = cancel_during_rows
    with pytest.raises(JobCancelled):
        await run_in_memory(ctx)
    assert ctx.state.step in (2, 3, 4)  # the steps the rows stream through
    assert files_under(Path(settings.data_dir) / "exports") == []
    assert await find_export_file(ctx.pool, ctx.job_id) is None
    # The connection went back to the pool usable (COPY or cursor aborted cleanly).
    assert await ctx.pool.fetchval("SELECT count(*) FROM quotes WHERE quote_number LIKE 'BULK-%'") == 15000


async def test_failure_after_publishing_removes_the_file(make_context, settings, monkeypatch) -> None:
    import jobrunner.processors.export_report as module

    async def broken(*args, **kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(module, "record_export_file", broken)
    ctx = await make_context({"reportType": "customers", "format": "json"})
    with pytest.raises(RuntimeError):
        await run_in_memory(ctx)
    assert ctx.state.step == 6
    assert files_under(Path(settings.data_dir) / "exports") == []


async def test_concurrent_exports_get_distinct_files(make_context, settings) -> None:
    contexts = [await make_context({"reportType": "customers", "format": "csv"}) for _ in range(3)]
    results = await asyncio.gather(*(run_in_memory(ctx) for ctx in contexts))
    assert len({r["downloadUrl"] for r in results}) == 3
    assert len(files_under(Path(settings.data_dir) / "exports")) == 3
    rows = read_csv(next(iter(files_under(Path(settings.data_dir) / "exports"))))
    assert len(rows) - 1 == results[0]["recordCount"]
