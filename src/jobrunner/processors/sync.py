"""``sync``: pushes an organization's customers or quotes changed since the last
successful sync to a configured integration, in batches of ``JOBRUNNER_SYNC_BATCH_SIZE``,
oldest change first. Each batch is a signed POST with an idempotency key derived from
where it starts and ends; once the receiver acknowledges it (2xx) the checkpoint moves
past it, so a retried attempt resumes after the last acknowledged batch.

Permanent: no such integration, a 3xx or 4xx answer, a refused destination. Transient: timeouts, connection failures,
5xx and 429 answers, another sync of the same integration and dataset running."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable
from typing import Any

import asyncpg

from jobrunner.db.sql import Q
from jobrunner.domain.errors import PermanentError, RetryLater
from jobrunner.domain.jobtypes import Step
from jobrunner.domain.payloads import SyncPayload
from jobrunner.domain.results import SyncResult
from jobrunner.integrations.delivery import post_signed
from jobrunner.integrations.repository import Integration, find_integration
from jobrunner.integrations.secrets import secret_box
from jobrunner.timestamps import iso_utc
from jobrunner.outbound.client import outbound_client
from jobrunner.worker.context import JobContext
from jobrunner.worker.registry import job_type

STEPS = [Step(10, "Find changes"), Step(20, "Push batches"), Step(95, "Finalize")]
BEGINNING = (dt.datetime(1970, 1, 1, tzinfo=dt.UTC), 0)


def _customer(row: asyncpg.Record) -> dict[str, Any]:
    return {
        "id": row["id"],
        "name": row["name"],
        "email": row["email"],
        "country": row["country"],
        "createdAt": iso_utc(row["created_at"]),
        "updatedAt": iso_utc(row["updated_at"]),
    }


def _quote(row: asyncpg.Record) -> dict[str, Any]:
    return {
        "id": row["id"],
        "quoteNumber": row["quote_number"],
        "customerId": row["customer_id"],
        "status": row["status"],
        "currency": row["currency"],
        "subtotal": row["subtotal"],
        "tax": row["tax"],
        "total": row["total"],
        "validUntil": row["valid_until"].isoformat(),
        "createdAt": iso_utc(row["created_at"]),
        "updatedAt": iso_utc(row["updated_at"]),
    }


DATASETS: dict[str, tuple[str, str, Callable[[asyncpg.Record], dict[str, Any]]]] = {
    "customers": (Q.count_changed_customers, Q.changed_customers, _customer),
    "quotes": (Q.count_changed_quotes, Q.changed_quotes, _quote),
}


@job_type(
    "sync",
    payload=SyncPayload,
    result=SyncResult,
    permission="integrations.run_sync",
    steps=STEPS,
    timeout_seconds=3600,
)
async def run_sync(ctx: JobContext[SyncPayload]) -> dict[str, Any]:
    """Push the records changed since the last sync to a configured integration."""
    payload = ctx.payload
    names = (ctx.organization_id, payload.integration, payload.dataset)
    await ctx.step(1)
    integration = await find_integration(ctx.pool, secret_box(ctx.settings), ctx.organization_id, payload.integration)
    if integration is None:
        raise PermanentError(
            f"Invalid sync payload: no integration named '{payload.integration}' "
            f"(PUT /v1/integrations/{payload.integration})"
        )
    async with ctx.pool.acquire() as conn:
        async with conn.transaction():
            await conn.execute(Q.sync_take_turn, *names)
            claimed = await conn.fetchval(Q.sync_claim, *names, ctx.job_id)
        if not claimed:
            raise RetryLater(f"another sync of {payload.integration}/{payload.dataset} is running", delay=30)
        cursor = await _push_changes(ctx, conn, integration, payload)
    await ctx.step(3)
    run = await ctx.pool.fetchrow(Q.sync_run, ctx.job_id)
    return {
        "integration": payload.integration,
        "dataset": payload.dataset,
        "batches": run["batches"] if run else 0,
        "records": run["records"] if run else 0,
        "checkpoint": {"updatedAt": iso_utc(cursor[0]), "id": cursor[1]} if cursor != BEGINNING else None,
    }


async def _push_changes(
    ctx: JobContext[SyncPayload], conn: asyncpg.Connection, integration: Integration, payload: SyncPayload
) -> tuple[dt.datetime, int]:
    count_changed, changed, present = DATASETS[payload.dataset]
    org = ctx.organization_id
    saved = await conn.fetchrow(Q.sync_checkpoint, org, integration.name, payload.dataset)
    cursor = (saved["cursor_updated_at"], saved["cursor_id"]) if saved else BEGINNING
    # Changes up to now: a record changed while this job runs goes with the next sync.
    until = await conn.fetchval(Q.sync_now)
    pending = await conn.fetchval(count_changed, org, *cursor, until)
    await ctx.step(2)
    pushed = 0
    async with outbound_client(ctx.settings) as client:
        while True:
            ctx.check_cancelled()
            rows = await conn.fetch(changed, org, *cursor, until, ctx.settings.sync_batch_size)
            if not rows:
                return cursor
            end = (rows[-1]["updated_at"], rows[-1]["id"])
            document = {
                "integration": integration.name,
                "organizationId": org,
                "dataset": payload.dataset,
                "from": _cursor_json(cursor),
                "to": _cursor_json(end),
                "records": [present(row) for row in rows],
            }
            await post_signed(
                client,
                integration.target_url,
                integration.secret,
                document,
                idempotency_key=_batch_key(org, integration.name, payload.dataset, cursor, end),
                timeout=ctx.settings.webhook_timeout_seconds,
            )
            async with conn.transaction():
                await conn.execute(Q.save_sync_checkpoint, org, integration.name, payload.dataset, *end, len(rows))
                await conn.execute(Q.add_sync_run, ctx.job_id, len(rows))
            cursor = end
            pushed += len(rows)
            await ctx.progress(pushed / max(pending, pushed))


def _cursor_json(cursor: tuple[dt.datetime, int]) -> dict[str, Any] | None:
    return None if cursor == BEGINNING else {"updatedAt": iso_utc(cursor[0]), "id": cursor[1]}


def _batch_key(
    org: str, integration: str, dataset: str, start: tuple[dt.datetime, int], end: tuple[dt.datetime, int]
) -> str:
    """The same batch (same start, same end) gets the same key in every attempt, so a
    receiver that acknowledged it just before a crash can recognise the repeat."""
    text = f"{org}/{integration}/{dataset}/{start[0].isoformat()}/{start[1]}/{end[0].isoformat()}/{end[1]}"
    return hashlib.sha256(text.encode()).hexdigest()[:32]
