"""A ``JobContext`` that runs a processor outside the worker engine: for tests and
benchmarks. It records steps and progress in memory instead of writing the job row, and
runs the cleanup callbacks when the run does not succeed, as the engine does."""

from __future__ import annotations

import asyncio
import inspect
import logging
import uuid
from typing import Any

import asyncpg

from jobrunner.domain.jobtypes import JOB_TYPES
from jobrunner.settings import Settings
from jobrunner.worker.context import Cleanup, JobContext
from jobrunner.worker.registry import PROCESSORS


class StandaloneContext(JobContext):
    def __init__(
        self, *, job_id: uuid.UUID, job_type: str, organization_id: str, user_id: str,
        raw_payload: dict[str, Any], pool: asyncpg.Pool, settings: Settings,
    ) -> None:
        self.job_id = job_id
        self.job_type = job_type
        self.organization_id = organization_id
        self.user_id = user_id
        self.attempt = 1
        self.raw_payload = raw_payload
        self.payload = JOB_TYPES[job_type].payload_model.model_validate(raw_payload)
        self.pool = pool
        self.settings = settings
        self.log = logging.LoggerAdapter(logging.getLogger("jobrunner.standalone"), {"job_id": str(job_id)})
        self.cancelled = asyncio.Event()
        self.processor = PROCESSORS[job_type]
        self.current_step = 0
        self.progress_value = 0
        self.history: list[tuple[int, int]] = []  # (step, progress) at every change
        self.cleanups: list[Cleanup] = []

    async def step(self, number: int) -> None:
        self.current_step = number
        self._set(self.processor.step(number).progress)

    async def progress(self, fraction: float) -> None:
        start, end = self.processor.band(self.current_step)
        self._set(start + int(max(0.0, min(fraction, 1.0)) * max(end - start - 1, 0)))

    def _set(self, value: int) -> None:
        if value >= self.progress_value and (self.current_step, value) not in self.history[-1:]:
            self.progress_value = value
            self.history.append((self.current_step, value))

    def on_cleanup(self, callback: Cleanup) -> None:
        self.cleanups.append(callback)

    async def run(self) -> dict[str, Any] | None:
        """Run the processor; on any exception run the cleanups, then re-raise."""
        try:
            return await self.processor.run(self)
        except BaseException:
            for callback in reversed(self.cleanups):
                outcome = callback()
                if inspect.isawaitable(outcome):
                    await outcome
            raise
