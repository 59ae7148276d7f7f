"""Batched writes of a worker: outcomes, progress, releases and audit rows.

Processors never wait for the database to record what they report. Outcomes are
buffered (a plain append, so a cancelled task cannot lose its final write) and flushed
by one task in a few statements (``UPDATE … FROM unnest(…)``): whatever accumulates
while a flush runs goes in the next one, so batches grow with the load by themselves.
Step boundaries wake the flusher at once; plain progress is written at most every
``progress_interval`` seconds per job. Within a flush, progress goes first so that a job
failing in step 1 shows step 1.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

import asyncpg

from jobrunner.db.worker_repository import (
    FinishBatch,
    ProgressBatch,
    SystemAudit,
    WorkerRepository,
)
from jobrunner.domain.errors import IllegalTransition
from jobrunner.domain.states import JobStatus
from jobrunner.backoff import backoff_seconds
from jobrunner.worker import events
from jobrunner.worker.context import ProgressState

# A system audit row (rescue, timeout): the repository's type.
AuditEntry = SystemAudit

log = logging.getLogger(__name__)


MAX_ERROR_CHARS = 2000


def clean_error(message: str | None) -> str | None:
    """An error message PostgreSQL can store (no NUL) and a status page can show (bounded)."""
    if message is None:
        return None
    message = message.replace("\x00", "")
    return message if len(message) <= MAX_ERROR_CHARS else message[: MAX_ERROR_CHARS - 1] + "…"


@dataclass(frozen=True, slots=True)
class Outcome:
    """The end of an attempt. ``status``: succeeded, failed, retrying or queued (handed back);
    ``bump``: 1 when a retrying outcome counts as an automatic retry."""

    job_id: uuid.UUID
    status: JobStatus
    result: Any = None
    error: str | None = None
    delay: float = 0.0
    bump: int = 0
    # Run when the guard refuses the outcome (the job was cancelled or rescued before it
    # landed): a success's cleanups, so the output of a cancelled job is removed after all.
    on_rejected: Callable[[], Coroutine[Any, Any, None]] | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "status", JobStatus(self.status))
        object.__setattr__(self, "error", clean_error(self.error))


class Writer:
    def __init__(
        self,
        pool: asyncpg.Pool,
        worker_id: str,
        *,
        progress_interval: float,
        on_released: Callable[[], None] = lambda: None,
        retry_delay: float = 0.5,
        retry_cap: float = 5.0,
    ) -> None:
        self._pool = pool
        self._worker_id = worker_id
        self._repo = WorkerRepository(pool, worker_id)
        self._progress_interval = progress_interval
        self._on_released = on_released
        self._retry_delay = retry_delay
        self._retry_cap = retry_cap
        self._outcomes: list[Outcome] = []
        self._releases: list[uuid.UUID] = []
        self._audits: list[AuditEntry] = []
        self._progress: dict[uuid.UUID, ProgressState] = {}
        self._wake = asyncio.Event()
        self._timer: asyncio.TimerHandle | None = None
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self._background: set[asyncio.Task[None]] = set()

    # What the worker and the contexts report (synchronous: nothing to await, nothing lost).
    def progress(self, state: ProgressState) -> None:
        self._progress[state.job_id] = state
        if state.urgent:
            self._wake.set()
        elif self._timer is None:
            loop = asyncio.get_running_loop()
            self._timer = loop.call_later(self._progress_interval, self._timer_fired)

    def finish(self, outcome: Outcome) -> None:
        self._outcomes.append(outcome)
        self._wake.set()

    def release(self, job_id: uuid.UUID) -> None:
        self._releases.append(job_id)
        self._wake.set()

    def audit(self, entry: AuditEntry) -> None:
        self._audits.append(entry)
        self._wake.set()

    @property
    def pending(self) -> int:
        return len(self._outcomes) + len(self._releases) + len(self._audits)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="jobrunner-writer")

    async def close(self, timeout: float = 10.0) -> None:
        """Flush everything still buffered (trying for up to ``timeout``), then stop."""
        self._closing = True
        self._wake.set()
        if self._task is not None:
            try:
                await asyncio.wait_for(asyncio.shield(self._task), timeout)
            except TimeoutError:
                log.error("could not flush %d outcomes before stopping; the rescuer will handle them", self.pending)
                self._task.cancel()
        if self._timer is not None:
            self._timer.cancel()

    def _timer_fired(self) -> None:
        self._timer = None
        self._wake.set()

    async def _run(self) -> None:
        failures = 0  # in a row: the database is away, back off (jobrunner/backoff.py)
        while True:
            await self._wake.wait()
            self._wake.clear()
            try:
                await self.flush()
            except Exception as exc:  # DB errors and bugs alike: log, go on
                delay = backoff_seconds(failures, base=self._retry_delay, cap=self._retry_cap)
                failures += 1
                log.warning("writing job updates failed (%r); retrying in %.1f s", exc, delay)
                await asyncio.sleep(delay)
                self._wake.set()
                continue
            failures = 0
            if self._closing and not self.pending and not self._progress:
                return

    def _due_progress(self) -> list[ProgressState]:
        now = time.monotonic()
        due: list[ProgressState] = []
        waiting = False
        for state in list(self._progress.values()):
            if state.urgent or self._closing or now - state.written_at >= self._progress_interval:
                due.append(state)
                del self._progress[state.job_id]
            else:
                waiting = True
        if waiting and self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(self._progress_interval, self._timer_fired)
        return due

    async def flush(self) -> None:
        """Write what is buffered. On a database error the items stay buffered."""
        progress = self._due_progress()
        outcomes, self._outcomes = self._outcomes, []
        releases, self._releases = self._releases, []
        audits, self._audits = self._audits, []
        if not (progress or outcomes or releases or audits):
            return
        try:
            async with self._pool.acquire() as conn:
                repo = self._repo.on(conn)
                if progress:
                    await self._write_progress(repo, progress)
                if audits:  # before the outcomes: whoever sees the outcome sees its audit row
                    await repo.audit(audits)
                if outcomes:
                    await self._write_outcomes(repo, outcomes, releases)
                if releases:
                    await repo.release(releases)
        except BaseException:
            # Written again next time: the guarded statements make that harmless.
            for state in progress:
                self._progress.setdefault(state.job_id, state)
            self._outcomes[:0] = outcomes
            self._releases[:0] = releases
            self._audits[:0] = audits
            raise
        if outcomes or releases:
            self._on_released()

    async def _write_progress(self, repo: WorkerRepository, states: list[ProgressState]) -> None:
        now = time.monotonic()
        for state in states:
            state.urgent = False
            state.dirty = False
            state.written_at = now
        await repo.write_progress(ProgressBatch.of(states))

    async def _write_outcomes(self, repo: WorkerRepository, outcomes: list[Outcome], releases: list[uuid.UUID]) -> None:
        try:
            applied = await repo.finish(FinishBatch.of(outcomes))
        except IllegalTransition:
            # A bug made an outcome the state machine refuses: it must not block the
            # others in its batch forever. Write them one by one; a refused one fails its
            # job instead (a move allowed from wherever a held job is).
            applied = set()
            for outcome in outcomes:
                applied |= await self._write_alone(repo, outcome)
        if len(applied) != len(outcomes):
            # Cancelled (or rescued) before the outcome landed: the guard kept the job's
            # state; only let go of the ones still held by this worker.
            for outcome in outcomes:
                if outcome.job_id in applied:
                    continue
                events.outcome_dropped(self._worker_id, outcome.job_id, outcome.status)
                releases.append(outcome.job_id)
                if outcome.on_rejected is not None:
                    task = asyncio.create_task(outcome.on_rejected())
                    self._background.add(task)
                    task.add_done_callback(self._background.discard)

    async def _write_alone(self, repo: WorkerRepository, outcome: Outcome) -> set[uuid.UUID]:
        try:
            return await repo.finish(FinishBatch.of([outcome]))
        except IllegalTransition as exc:
            log.error("outcome %s of job %s refused (%s); failing the job", outcome.status, outcome.job_id, exc)
            failed = Outcome(outcome.job_id, JobStatus.FAILED, error="The worker recorded an impossible outcome")
            return await repo.finish(FinishBatch.of([failed]))
