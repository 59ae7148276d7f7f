"""What a processor sees while it runs a job: ``JobContext``.

There is one context class. Where its steps and progress go is its reporter's business:
in the worker, the writer (``Writer.progress``: step boundaries written at once, progress
throttled, every write guarded); outside the engine (tests, benchmarks, a standalone
export: ``worker/standalone.py``), an ``InMemoryReporter`` that records them. So a
processor test runs against the context production uses, band arithmetic included
(``domain.jobtypes.progress_at``)."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from pydantic import BaseModel

from jobrunner.domain.errors import JobrunnerError
from jobrunner.domain.jobtypes import JobType, progress_at
from jobrunner.domain.payload_model import PayloadModel
from jobrunner.domain.job import Job

if TYPE_CHECKING:
    import asyncpg

    from jobrunner.settings import Settings

__all__ = ["Cleanup", "InMemoryReporter", "JobCancelled", "JobContext", "LiveJobContext", "ProgressState", "Reporter"]

P = TypeVar("P", bound=BaseModel)


class JobCancelled(JobrunnerError):
    """Raised inside a processor (by ``check_cancelled``) when the user cancelled the job."""


Cleanup = Callable[[], Awaitable[None] | None]


class ProgressState:
    """What the job row should show for progress; the writer flushes it when ``dirty``."""

    __slots__ = ("job_id", "progress", "step", "label", "dirty", "urgent", "written_at")

    def __init__(self, job_id: uuid.UUID) -> None:
        self.job_id = job_id
        self.progress = 0
        self.step = 0
        self.label: str | None = None
        self.dirty = False
        self.urgent = False
        self.written_at = 0.0


Reporter = Callable[[ProgressState], None]
"""Told of every change of a context's ``ProgressState`` (``urgent`` at a step boundary)."""


class InMemoryReporter:
    """A reporter that keeps what the job row would have shown, for tests and standalone
    runs: ``history`` is ``(step, progress)`` at every change, ``label`` the last label."""

    def __init__(self) -> None:
        self.history: list[tuple[int, int]] = []
        self.label: str | None = None

    def __call__(self, state: ProgressState) -> None:
        entry = (state.step, state.progress)
        if entry not in self.history[-1:]:
            self.history.append(entry)
        self.label = state.label
        state.dirty = state.urgent = False  # as if written


class JobContext(Generic[P]):
    """The job being run and the ways a processor reports on it. ``JobContext[MyPayload]``
    types ``ctx.payload`` as the job type's payload model.

    Attributes:
        job_id, organization_id, user_id: the job, and who it belongs to.
        job_type: the job type's name; ``declaration`` its ``JobType``.
        attempt: 1 for the first attempt, 2 for the first retry, ...
        payload: the payload, validated by the job type's payload model.
        raw_payload: the payload as stored (a dict).
        pool: the database pool, for the processor's own queries.
        settings: the service settings.
        log: a logger bound to the job (``job_id``, ``attempt``).
        cancelled: an ``asyncio.Event`` set within a second of the user's cancel.
    """

    payload: P

    def __init__(
        self,
        declaration: JobType,
        *,
        job_id: uuid.UUID,
        organization_id: str,
        user_id: str,
        raw_payload: dict[str, Any],
        pool: asyncpg.Pool,
        settings: Settings,
        reporter: Reporter,
        attempt: int = 1,
    ) -> None:
        self.declaration = declaration
        self.job_id = job_id
        self.organization_id = organization_id
        self.user_id = user_id
        self.job_type = declaration.name
        self.attempt = attempt
        self.raw_payload = raw_payload
        self.pool = pool
        self.settings = settings
        self.reporter = reporter
        self.cancelled = asyncio.Event()
        self.cleanups: list[Cleanup] = []
        self.state = ProgressState(job_id)
        self._log: logging.LoggerAdapter | None = None

    @property
    def log(self) -> logging.LoggerAdapter:
        if self._log is None:  # made on first use: most jobs never log
            base = logging.getLogger(f"jobrunner.job.{self.job_type}")
            self._log = logging.LoggerAdapter(base, {"job_id": str(self.job_id), "attempt": self.attempt})
        return self._log

    async def step(self, number: int, label: str | None = None) -> None:
        """Start step ``number`` (1-based): sets currentStep, its label (``label`` replaces
        the declared one for this attempt) and its progress. Written at once."""
        declared = self.declaration.step(number)
        state = self.state
        state.step = number
        state.label = label or declared.label
        state.progress = max(state.progress, declared.progress)
        state.urgent = True
        self._mark()

    async def progress(self, fraction: float) -> None:
        """Move progress within the current step's band (0.0 = the step's start, 1.0 = just
        below the next step's). Never goes backwards; written at most a few times a second."""
        value = progress_at(self.declaration.steps, self.state.step, fraction)
        if value > self.state.progress:
            self.state.progress = value
            self._mark()

    def _mark(self) -> None:
        self.state.dirty = True
        self.reporter(self.state)

    def check_cancelled(self) -> None:
        """Raise ``JobCancelled`` if the job was cancelled: call it between units of work."""
        if self.cancelled.is_set():
            raise JobCancelled("job cancelled")

    def on_cleanup(self, callback: Cleanup) -> None:
        """Register a callback (sync or async) run when the attempt ends in anything but
        success (cancel, failure, timeout, shutdown): remove partial output there."""
        self.cleanups.append(callback)

    async def run_cleanups(self) -> None:
        """Run the registered cleanups, newest first; one failing doesn't stop the others."""
        while self.cleanups:
            callback = self.cleanups.pop()
            try:
                outcome = callback()
                if asyncio.iscoroutine(outcome) or isinstance(outcome, asyncio.Future):
                    await outcome
            except BaseException:  # noqa: BLE001 - cleanup must go on, whatever happened
                self.log.exception("cleanup failed")


class LiveJobContext(JobContext[Any]):
    """The context of a job the worker claimed: made from its ``Job``, reporting to the
    worker's writer, plus what the engine keeps about the attempt (its task, why it was
    asked to stop). ``processor`` is the job type's ``Processor`` (None: no processor in
    this worker, which the engine fails)."""

    def __init__(
        self,
        job: Job,
        processor: Any,
        *,
        pool: asyncpg.Pool,
        settings: Settings,
        report: Reporter,
    ) -> None:
        declaration = processor.job_type if processor is not None else _unknown(job.job_type)
        super().__init__(
            declaration,
            job_id=job.id,
            organization_id=job.organization_id,
            user_id=job.user_id,
            raw_payload=job.payload or {},
            pool=pool,
            settings=settings,
            reporter=report,
            attempt=job.attempts,
        )
        self.job_type = job.job_type
        self.payload = None
        self.job = job
        self.processor = processor
        # Why the worker asked the processor to stop: "cancelled", "lost" or "shutdown".
        self.stop_reason: str | None = None
        self.task: asyncio.Task[None] = None  # type: ignore[assignment]  # set by the worker
        self.stop_timer: asyncio.TimerHandle | None = None


def _unknown(name: str) -> JobType:
    """A stand-in declaration for a job type this process does not know."""
    return JobType(name=name[:50] or "unknown", payload_model=PayloadModel)
