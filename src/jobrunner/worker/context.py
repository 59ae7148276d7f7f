"""What a processor sees while it runs a job: the interface. The worker provides the
implementation (guarded, throttled writes to the job row)."""

from __future__ import annotations

import abc
import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg

from jobrunner.domain.errors import JobrunnerError
from jobrunner.settings import Settings


class JobCancelled(JobrunnerError):
    """Raised inside a processor (by ``check_cancelled``) when the user cancelled the job."""


Cleanup = Callable[[], Awaitable[None] | None]


class JobContext(abc.ABC):
    """The job being run and the ways a processor reports on it.

    Attributes:
        job_id, organization_id, user_id, job_type, attempt: who and what.
        payload: the validated payload model of the job type.
        raw_payload: the payload as stored (a dict).
        pool: the database pool, for the processor's own queries.
        settings: the service settings.
        log: a logger bound to the job.
        cancelled: an ``asyncio.Event`` set within a second of the user's cancel.
    """

    job_id: uuid.UUID
    organization_id: str
    user_id: str
    job_type: str
    attempt: int
    payload: Any
    raw_payload: dict[str, Any]
    pool: asyncpg.Pool
    settings: Settings
    log: logging.LoggerAdapter
    cancelled: asyncio.Event

    @abc.abstractmethod
    async def step(self, number: int) -> None:
        """Start step ``number`` (1-based): sets currentStep, its label and its progress.
        Written at once."""

    @abc.abstractmethod
    async def progress(self, fraction: float) -> None:
        """Move progress within the current step's band (0.0 = the step's start, 1.0 = just
        below the next step's). Never goes backwards; written at most a few times a second."""

    def check_cancelled(self) -> None:
        """Raise JobCancelled if the job was cancelled: call it between units of work."""
        if self.cancelled.is_set():
            raise JobCancelled("job cancelled")

    @abc.abstractmethod
    def on_cleanup(self, callback: Cleanup) -> None:
        """Register a callback run when the attempt ends in anything but success (cancel,
        failure, timeout, shutdown): remove partial output there."""


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


class LiveJobContext(JobContext):
    """The worker's implementation: steps and progress go to the writer (step boundaries
    flushed at once, progress throttled); cancellation comes from the worker."""

    def __init__(
        self,
        row: Any,
        processor: Any,
        *,
        pool: asyncpg.Pool,
        settings: Settings,
        report: Callable[[ProgressState], None],
    ) -> None:
        self.job_id = row["id"]
        self.organization_id = row["organization_id"]
        self.user_id = row["user_id"]
        self.job_type = row["job_type"]
        self.attempt = row["attempts"]
        self.raw_payload = row["payload"] or {}
        self.payload = None
        self.pool = pool
        self.settings = settings
        self.cancelled = asyncio.Event()
        self.row = row
        self.processor = processor
        # Why the worker asked the processor to stop: "cancelled", "lost" or "shutdown".
        self.stop_reason: str | None = None
        self.cleanups: list[Cleanup] = []
        self.state = ProgressState(self.job_id)
        self._report = report
        self._log: logging.LoggerAdapter | None = None
        self.task: asyncio.Task[None] = None  # type: ignore[assignment]  # set by the worker
        self.stop_timer: asyncio.TimerHandle | None = None

    @property
    def log(self) -> logging.LoggerAdapter:  # type: ignore[override]
        if self._log is None:
            base = logging.getLogger(f"jobrunner.job.{self.job_type}")
            self._log = logging.LoggerAdapter(base, {"job_id": str(self.job_id), "attempt": self.attempt})
        return self._log

    async def step(self, number: int, label: str | None = None) -> None:
        """See JobContext.step; ``label`` replaces the declared label for this attempt."""
        steps = self.processor.steps
        if not 1 <= number <= len(steps):
            raise ValueError(f"{self.job_type} has steps 1..{len(steps)}, not {number}")
        state = self.state
        state.step = number
        state.label = label or steps[number - 1].label
        state.progress = max(state.progress, steps[number - 1].progress)
        state.urgent = True
        self._mark()

    async def progress(self, fraction: float) -> None:
        state = self.state
        if state.step:
            start, end = self.processor.band(state.step)
        else:
            start, end = 0, self.processor.steps[0].progress if self.processor.steps else 100
        fraction = float(fraction)
        fraction = min(fraction, 1.0) if fraction >= 0.0 else 0.0  # NaN and negatives: 0
        value = start + int(fraction * (end - start))
        if end > start:  # the next step's own value is reached by starting it
            value = min(value, end - 1)
        if value > state.progress:
            state.progress = value
            self._mark()

    def _mark(self) -> None:
        self.state.dirty = True
        self._report(self.state)

    def on_cleanup(self, callback: Cleanup) -> None:
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
