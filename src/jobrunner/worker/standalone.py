"""Running a processor outside the worker engine (tests, benchmarks, a one-off export): the
real ``JobContext`` with an ``InMemoryReporter`` instead of the writer. As in the engine,
the payload is validated by the job type's model first, and the cleanups run when the
run does not succeed."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from jobrunner.worker.context import InMemoryReporter, JobContext
from jobrunner.worker.registry import get_processor

if TYPE_CHECKING:
    import asyncpg

    from jobrunner.settings import Settings

__all__ = ["in_memory_context", "run_in_memory"]


def in_memory_context(
    job_type: str,
    *,
    job_id: uuid.UUID,
    organization_id: str,
    user_id: str,
    payload: dict[str, Any],
    pool: asyncpg.Pool,
    settings: Settings,
    attempt: int = 1,
) -> JobContext[Any]:
    """A context for a job of ``job_type`` (declared in a module imported already) whose
    progress goes to ``ctx.reporter``, an ``InMemoryReporter``."""
    processor = get_processor(job_type)
    if processor is None:
        raise KeyError(f"no processor declared for job type {job_type!r}")
    ctx: JobContext[Any] = JobContext(
        processor.job_type,
        job_id=job_id,
        organization_id=organization_id,
        user_id=user_id,
        raw_payload=payload,
        pool=pool,
        settings=settings,
        reporter=InMemoryReporter(),
        attempt=attempt,
    )
    ctx.payload = processor.job_type.payload_model.model_validate(payload)
    return ctx


async def run_in_memory(ctx: JobContext[Any]) -> Any:
    """Run the job type's processor on ``ctx`` and return its result; on any exception run
    the cleanups, then re-raise."""
    processor = get_processor(ctx.job_type)
    assert processor is not None, ctx.job_type
    try:
        return await processor.run(ctx)
    except BaseException:
        await ctx.run_cleanups()
        raise
