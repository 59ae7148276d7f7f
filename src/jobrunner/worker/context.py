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
