"""The live context's progress arithmetic: step bands, never backwards, what is reported."""

from __future__ import annotations

import uuid

import pytest

from jobrunner.domain.jobtypes import JOB_TYPES, JobType, PayloadModel
from jobrunner.settings import Settings
from jobrunner.worker.context import LiveJobContext, ProgressState
from jobrunner.worker.registry import Processor, Step


async def _noop(ctx: object) -> None:
    return None


def make_context() -> tuple[LiveJobContext, list[tuple[int, int, str | None, bool]]]:
    job_type = JobType("unit_steps", "jobs.create_jobs", PayloadModel, 3, "unit")
    processor = Processor(job_type, _noop, (Step(20, "A"), Step(40, "B"), Step(95, "C")), 10)
    reported: list[tuple[int, int, str | None, bool]] = []

    def report(state: ProgressState) -> None:
        reported.append((state.progress, state.step, state.label, state.urgent))

    row = {"id": uuid.uuid4(), "organization_id": "o", "user_id": "u", "job_type": "unit_steps",
           "attempts": 1, "payload": {}}
    ctx = LiveJobContext(row, processor, pool=None, settings=Settings(), report=report)  # type: ignore[arg-type]
    return ctx, reported


async def test_steps_set_their_progress_and_bands_bound_progress() -> None:
    ctx, reported = make_context()
    await ctx.step(1)
    assert reported[-1] == (20, 1, "A", True)
    await ctx.progress(0.5)
    assert ctx.state.progress == 30
    await ctx.progress(1.0)
    assert ctx.state.progress == 39  # step 2 starts at 40
    await ctx.step(2, "B, custom")
    await ctx.progress(0.999)
    assert ctx.state.progress == 94 and ctx.state.label == "B, custom"  # just below step 3
    await ctx.step(3)
    await ctx.progress(0.0)
    await ctx.progress(0.5)
    assert ctx.state.progress == 97  # the last band ends at 100


async def test_progress_never_goes_backwards_and_repeats_are_not_reported() -> None:
    ctx, reported = make_context()
    await ctx.step(2)
    await ctx.progress(0.5)
    count = len(reported)
    for _ in range(1000):
        await ctx.progress(0.5)
    await ctx.progress(0.1)
    assert len(reported) == count and ctx.state.progress == 67
    await ctx.progress(float("nan"))
    await ctx.progress(-3)
    assert ctx.state.progress == 67
    await ctx.progress(7)
    assert ctx.state.progress == 94  # clamped to just below the band's end
    with pytest.raises(ValueError):
        await ctx.step(4)


async def test_cleanups_run_newest_first_and_survive_failures() -> None:
    ctx, _ = make_context()
    ran: list[str] = []

    async def first() -> None:
        ran.append("first")

    def broken() -> None:
        raise RuntimeError("boom")

    ctx.on_cleanup(first)
    ctx.on_cleanup(broken)
    ctx.on_cleanup(lambda: ran.append("last"))
    await ctx.run_cleanups()
    assert ran == ["last", "first"]
    assert JOB_TYPES.get("unit_steps") is None  # nothing registered globally
