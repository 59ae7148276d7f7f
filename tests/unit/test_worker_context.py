"""The one context's progress arithmetic: step bands, never backwards, what is reported;
the same numbers whether the reporter is the worker's writer or in memory."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from jobrunner.domain.job import Job
from jobrunner.domain.jobtypes import JOB_TYPES, JobType, Step, progress_at
from jobrunner.domain.payload_model import PayloadModel
from jobrunner.settings import Settings
from jobrunner.worker.context import InMemoryReporter, JobContext, LiveJobContext, ProgressState
from jobrunner.worker.registry import Processor

STEPS = (Step(20, "A"), Step(40, "B"), Step(95, "C"))
DECLARATION = JobType("unit_steps", PayloadModel, steps=STEPS)


async def _noop(ctx: object) -> None:
    return None


def claimed(row: dict[str, Any]) -> Job:
    """The Job a claim would answer for ``row``."""
    return Job.from_row({"status": "running", "retry_count": 0, "max_retries": 3, **row})


def make_context() -> tuple[LiveJobContext, list[tuple[int, int, str | None, bool]]]:
    """The worker's context, reporting as to the writer."""
    reported: list[tuple[int, int, str | None, bool]] = []

    def report(state: ProgressState) -> None:
        reported.append((state.progress, state.step, state.label, state.urgent))

    row = {
        "id": uuid.uuid4(),
        "organization_id": "o",
        "user_id": "u",
        "job_type": "unit_steps",
        "attempts": 1,
        "payload": {},
    }
    ctx = LiveJobContext(
        claimed(row),
        Processor(DECLARATION, _noop),
        pool=None,
        settings=Settings(),  # type: ignore[arg-type]
        report=report,
    )
    return ctx, reported


def in_memory_context() -> JobContext[Any]:
    return JobContext(
        DECLARATION,
        job_id=uuid.uuid4(),
        organization_id="o",
        user_id="u",
        raw_payload={},
        pool=None,
        settings=Settings(),
        reporter=InMemoryReporter(),
    )  # type: ignore[arg-type]


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


async def test_in_memory_and_live_contexts_report_the_same_numbers() -> None:
    """The standalone context of old rounded differently (29 where production shows 30)."""
    live, _ = make_context()
    memory = in_memory_context()
    calls = [
        ("step", 1),
        ("progress", 0.5),
        ("progress", 0.77),
        ("step", 2),
        ("progress", 0.01),
        ("progress", 0.5),
        ("step", 3),
        ("progress", 1.0),
    ]
    seen: list[tuple[int, int]] = []
    for ctx in (live, memory):
        values = []
        for method, argument in calls:
            await getattr(ctx, method)(argument)
            values.append((ctx.state.step, ctx.state.progress))
        seen.append(values)  # type: ignore[arg-type]
    assert seen[0] == seen[1]
    assert seen[1][1] == (1, 30)
    assert isinstance(memory.reporter, InMemoryReporter)
    assert memory.reporter.history == [(1, 20), (1, 30), (1, 35), (2, 40), (2, 67), (3, 95), (3, 99)]


def test_progress_at_is_the_band_arithmetic() -> None:
    assert progress_at(STEPS, 0, 0.5) == 10  # before step 1: 0 up to step 1's start
    assert progress_at(STEPS, 1, 0.5) == 30
    assert progress_at(STEPS, 1, 1.0) == 39
    assert progress_at(STEPS, 3, 1.0) == 99
    assert progress_at((Step(100, "Done"),), 1, 0.5) == 100  # an empty band stays put
    assert progress_at((), 0, 0.25) == 25


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


def test_a_worker_without_the_processor_still_gets_a_context() -> None:
    row = {
        "id": uuid.uuid4(),
        "organization_id": "o",
        "user_id": "u",
        "job_type": "x" * 80,
        "attempts": 1,
        "payload": None,
    }
    ctx = LiveJobContext(claimed(row), None, pool=None, settings=Settings(), report=lambda state: None)  # type: ignore[arg-type]
    assert ctx.job_type == "x" * 80 and ctx.raw_payload == {} and ctx.processor is None
