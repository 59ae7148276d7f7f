"""The worker engine's database access (db/queries/worker.sql), as ``JobsRepository`` is
the API's: named statements in, typed values out (``Job``), typed batches in place of
parallel positional arrays.

A repository wraps a pool or one connection (the writer's flush and the rescuer's
transaction use one). Driver errors pass through as they are (the engine's loops decide
what "unavailable" means, db/errors.py), except the state machine's refusal, which
becomes ``IllegalTransition``.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import asyncpg

from jobrunner.db.sql import Q
from jobrunner.domain.errors import IllegalTransition
from jobrunner.domain.job import Job
from jobrunner.domain.states import ILLEGAL_TRANSITION_SQLSTATE, JobStatus


class Executor(Protocol):
    """A pool or one connection: what runs the statements."""

    async def fetch(self, query: str, *args: Any) -> list[Any]: ...
    async def fetchval(self, query: str, *args: Any) -> Any: ...
    async def execute(self, query: str, *args: Any) -> str: ...


class Finishing(Protocol):
    """The end of an attempt as finish_jobs records it (worker/writer.py's Outcome)."""

    @property
    def job_id(self) -> uuid.UUID: ...
    @property
    def status(self) -> JobStatus: ...
    @property
    def result(self) -> Any: ...
    @property
    def error(self) -> str | None: ...
    @property
    def delay(self) -> float: ...
    @property
    def bump(self) -> int: ...


class Progressing(Protocol):
    """What a job row should show for progress (worker/context.py's ProgressState)."""

    @property
    def job_id(self) -> uuid.UUID: ...
    @property
    def progress(self) -> int: ...
    @property
    def step(self) -> int: ...
    @property
    def label(self) -> str | None: ...


@dataclass(frozen=True, slots=True)
class FinishBatch:
    """finish_jobs' arguments, one tuple per column: the outcomes of many attempts."""

    job_ids: list[uuid.UUID]
    statuses: list[JobStatus]
    results: list[Any]
    errors: list[str | None]
    delays: list[float]
    bumps: list[int]

    @classmethod
    def of(cls, outcomes: Iterable[Finishing]) -> FinishBatch:
        return cls(*_columns(outcomes, "job_id", "status", "result", "error", "delay", "bump"))


@dataclass(frozen=True, slots=True)
class ProgressBatch:
    job_ids: list[uuid.UUID]
    progress: list[int]
    steps: list[int]
    labels: list[str | None]

    @classmethod
    def of(cls, states: Iterable[Progressing]) -> ProgressBatch:
        return cls(*_columns(states, "job_id", "progress", "step", "label"))


@dataclass(frozen=True, slots=True)
class SystemAudit:
    """An audit row of the system (rescue, timeout)."""

    organization_id: str
    action: str
    job_id: uuid.UUID
    details: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Orphan:
    """A job held by a worker that is gone: ``reason`` is ``session`` (its database session
    ended) or ``lease`` (it stopped heartbeating, or has no row)."""

    id: uuid.UUID
    organization_id: str
    locked_by: str
    status: JobStatus
    retry_count: int
    max_retries: int
    job_type: str
    reason: str = "lease"


@dataclass(frozen=True, slots=True)
class Rescue:
    """What becomes of an orphan: rescue_jobs applies ``status`` only to a running or
    retrying job (any other is only released)."""

    orphan: Orphan
    status: JobStatus
    error: str | None
    delay: float


@dataclass(frozen=True, slots=True)
class Rescued:
    job_id: uuid.UUID
    organization_id: str
    status: JobStatus
    worker_id: str


def _columns(rows: Iterable[Any], *names: str) -> list[list[Any]]:
    """The ``names`` attributes of ``rows``, one list per attribute: the arrays that a
    statement's ``unnest($n::type[], ...)`` turns back into rows."""
    items = list(rows)
    return [[getattr(item, name) for item in items] for name in names]


class WorkerRepository:
    def __init__(self, db: Executor, worker_id: str | None = None) -> None:
        self._db = db
        self._worker_id = worker_id

    @property
    def worker_id(self) -> str:
        if self._worker_id is None:
            raise TypeError("this repository acts for no worker")
        return self._worker_id

    def on(self, conn: asyncpg.Connection) -> WorkerRepository:
        """The same repository, on one connection (a flush, a transaction)."""
        return WorkerRepository(conn, self._worker_id)

    # -- claiming ------------------------------------------------------------------------
    async def claim(self, limit: int, org_limit: int) -> list[Job]:
        """Up to ``limit`` ready jobs, now held by this worker, best first."""
        rows = await self._checked(self._db.fetch(Q.claim_jobs, self.worker_id, limit, org_limit))
        return [Job.from_row(row) for row in rows]

    async def next_scheduled_in(self) -> float | None:
        """Seconds until the earliest delayed job or retry is due (None: none waits)."""
        return await self._db.fetchval(Q.next_scheduled_at)

    # -- writing what the attempts report ------------------------------------------------
    async def write_progress(self, batch: ProgressBatch) -> None:
        await self._db.execute(
            Q.write_progress, self.worker_id, batch.job_ids, batch.progress, batch.steps, batch.labels
        )

    async def finish(self, batch: FinishBatch) -> set[uuid.UUID]:
        """Record the outcomes; answers the ids whose outcome landed (the others were
        cancelled or rescued meanwhile: the guard kept their state)."""
        rows = await self._checked(
            self._db.fetch(
                Q.finish_jobs,
                self.worker_id,
                batch.job_ids,
                batch.statuses,
                batch.results,
                batch.errors,
                batch.delays,
                batch.bumps,
            )
        )
        return {row["id"] for row in rows}

    async def release(self, job_ids: Sequence[uuid.UUID]) -> None:
        """Let go of final jobs this worker still holds (cancelled while running)."""
        await self._db.execute(Q.release_jobs, self.worker_id, list(job_ids))

    async def jobs_to_stop(self, job_ids: Sequence[uuid.UUID]) -> list[uuid.UUID]:
        """Of ``job_ids``, those cancelled or no longer held by this worker."""
        rows = await self._db.fetch(Q.jobs_to_stop, self.worker_id, list(job_ids))
        return [row["id"] for row in rows]

    async def audit(self, entries: Sequence[SystemAudit]) -> None:
        await self._db.execute(
            Q.insert_system_audit, *_columns(entries, "organization_id", "action", "job_id", "details")
        )

    # -- this worker's row ---------------------------------------------------------------
    async def heartbeat(self, hostname: str, pid: int, concurrency: int) -> None:
        await self._db.execute(Q.heartbeat_worker, self.worker_id, hostname, pid, concurrency)

    async def hold_session_lock(self) -> bool:
        """On the connection this repository wraps (the worker's LISTEN connection): hold
        the worker's session lock for as long as that session lives. True when held."""
        return bool(await self._db.fetchval(Q.hold_worker_session_lock, self.worker_id))

    async def delete_worker(self) -> None:
        await self._db.execute(Q.delete_worker, self.worker_id)

    # -- rescue (inside one transaction: the orphans stay locked until it commits) --------
    async def select_orphans(self, lease_seconds: float) -> list[Orphan]:
        rows = await self._db.fetch(Q.select_orphaned_jobs, lease_seconds)
        return [
            Orphan(
                r["id"],
                r["organization_id"],
                r["locked_by"],
                JobStatus(r["status"]),
                r["retry_count"],
                r["max_retries"],
                r["job_type"],
                r["reason"],
            )
            for r in rows
        ]

    async def rescue(self, rescues: Sequence[Rescue]) -> list[Rescued]:
        orphans = [r.orphan for r in rescues]
        rows = await self._checked(
            self._db.fetch(
                Q.rescue_jobs, *_columns(orphans, "id", "locked_by"), *_columns(rescues, "status", "error", "delay")
            )
        )
        return [Rescued(r["id"], r["organization_id"], JobStatus(r["status"]), r["holder"]) for r in rows]

    async def delete_dead_workers(self, lease_seconds: float) -> None:
        await self._db.execute(Q.delete_dead_workers, lease_seconds)

    @staticmethod
    async def _checked(statement: Any) -> Any:
        """The statement's answer; the state machine's refusal in our words."""
        try:
            return await statement
        except asyncpg.PostgresError as exc:
            if exc.sqlstate == ILLEGAL_TRANSITION_SQLSTATE:
                raise IllegalTransition(exc.args[0] if exc.args else "illegal job status transition") from exc
            raise
