"""The processor registry: a job type's run function, its steps and its timeout.

A processor module declares itself with the ``processor`` decorator::

    @processor("export_report", steps=EXPORT_STEPS, timeout_seconds=900)
    async def run_export(ctx: JobContext) -> dict:
        await ctx.step(1)
        ...
        return {"downloadUrl": ...}

What it returns becomes the job's ``result``. It raises ``RetryLater`` for a transient
failure and ``PermanentError`` for one that retrying cannot fix; any other exception is
treated as transient.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from jobrunner.domain.jobtypes import JOB_TYPES, JobType

if TYPE_CHECKING:
    from jobrunner.worker.context import JobContext


@dataclass(frozen=True)
class Step:
    """One step of a processor: the progress shown when it starts, and its label."""

    progress: int
    label: str


RunFunction = Callable[["JobContext"], Awaitable[dict[str, Any] | None]]


@dataclass(frozen=True)
class Processor:
    job_type: JobType
    run: RunFunction
    steps: tuple[Step, ...]
    timeout_seconds: float

    def step(self, number: int) -> Step:
        return self.steps[number - 1]

    def band(self, number: int) -> tuple[int, int]:
        """The progress range of step ``number``: from its own start to the next step's."""
        start = self.steps[number - 1].progress
        end = self.steps[number].progress if number < len(self.steps) else 100
        return start, end


PROCESSORS: dict[str, Processor] = {}


def processor(
    job_type: str, *, steps: Sequence[Step], timeout_seconds: float = 600.0
) -> Callable[[RunFunction], RunFunction]:
    def register(run: RunFunction) -> RunFunction:
        if job_type not in JOB_TYPES:
            raise KeyError(f"job type {job_type!r} has no payload model in domain/jobtypes.py")
        if len(steps) != JOB_TYPES[job_type].total_steps:
            raise ValueError(f"{job_type}: {len(steps)} steps declared, job type says {JOB_TYPES[job_type].total_steps}")
        PROCESSORS[job_type] = Processor(JOB_TYPES[job_type], run, tuple(steps), timeout_seconds)
        return run

    return register
