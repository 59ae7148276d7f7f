"""Job types for tests only (never in the product). Worker subprocesses load them with
``JOBRUNNER_IMPORTS=tests.support.processors``.

Processors record what they do in ``test_events`` (created by ``create_events_table``) so
tests can check what ran where and when: ``start``, ``end``, ``cleanup``, ``cancel_seen``.
"""

from __future__ import annotations

import asyncio
import os

from pydantic import BaseModel

from jobrunner import JobContext, PermanentError, RetryLater, Step, job_type

EVENTS_TABLE = """
CREATE TABLE IF NOT EXISTS test_events (
    job_id uuid NOT NULL,
    organization_id text NOT NULL,
    kind text NOT NULL,
    attempt integer NOT NULL,
    pid integer NOT NULL,
    at timestamptz NOT NULL DEFAULT clock_timestamp()
)"""


class WorkPayload(BaseModel):
    seconds: float = 0.0
    fail: str | None = None  # None, "transient", "permanent", "retry_later"
    delay: float | None = None
    record: bool = True


async def record(ctx: JobContext[WorkPayload], kind: str) -> None:
    await ctx.pool.execute(
        "INSERT INTO test_events (job_id, organization_id, kind, attempt, pid) VALUES ($1, $2, $3, $4, $5)",
        ctx.job_id,
        ctx.organization_id,
        kind,
        ctx.attempt,
        os.getpid(),
    )


@job_type("test_work", payload=WorkPayload, steps=[Step(10, "Start"), Step(50, "Work")], timeout_seconds=30)
async def run_work(ctx: JobContext[WorkPayload]) -> dict:
    """Sleeps ``seconds`` (cancellable), moving progress, then fails as told or succeeds."""
    p = ctx.payload
    if p.record:
        await record(ctx, "start")
        ctx.on_cleanup(lambda: record(ctx, "cleanup"))
    await ctx.step(1)
    await ctx.step(2)
    loop = asyncio.get_running_loop()
    end = loop.time() + p.seconds
    while (left := end - loop.time()) > 0:
        try:
            await asyncio.wait_for(ctx.cancelled.wait(), min(left, 0.05))
        except TimeoutError:
            await ctx.progress(1 - max(end - loop.time(), 0) / p.seconds)
            continue
        if p.record:
            await record(ctx, "cancel_seen")
        ctx.check_cancelled()
    if p.fail == "permanent":
        raise PermanentError("told to fail permanently")
    if p.fail == "transient":
        raise ValueError("told to fail")
    if p.fail == "retry_later":
        raise RetryLater("told to retry later", delay=p.delay)
    if p.fail == "nul":
        raise ValueError("bad\x00byte" + "x" * 5000)
    if p.fail == "bad_result":
        return {"not json": {1, 2}}  # type: ignore[dict-item]
    if p.record:
        await record(ctx, "end")
    return {"slept": p.seconds, "attempt": ctx.attempt}


@job_type("test_slow", payload=WorkPayload, steps=[Step(10, "Hang")], timeout_seconds=0.5)
async def run_slow(ctx: JobContext[WorkPayload]) -> None:
    """Ignores cancellation and outlives its 0.5 s timeout."""
    await ctx.step(1)
    await asyncio.sleep(ctx.payload.seconds)


@job_type("test_noop", payload=WorkPayload, timeout_seconds=10)
async def run_noop(ctx: JobContext[WorkPayload]) -> None:
    """Does nothing."""


@job_type("test_chatty", payload=WorkPayload, steps=[Step(0, "Chatter")], timeout_seconds=30)
async def run_chatty(ctx: JobContext[WorkPayload]) -> None:
    """Reports progress 100,000 times over about ``seconds``."""
    await ctx.step(1)
    for i in range(100_000):
        await ctx.progress(i / 100_000)
        if i % 1000 == 0:
            await asyncio.sleep(ctx.payload.seconds / 100)
