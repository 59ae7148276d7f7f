"""Rescue of jobs whose worker died (SIGKILL, lost machine, lost connection).

A job held (``locked_by``) by a worker that is gone failed transiently. Gone means: its
database session ended (each worker holds a session-level advisory lock on its own id on
its LISTEN connection; a rescuer that can take that lock knows the session is over, within
one ``rescue_interval_seconds`` of a SIGKILL), or its heartbeat is older than the lease
(connected but hung, or a worker without a session lock, e.g. through PgBouncer in
transaction mode), or it has no worker row at all. Such a job the retry decision (domain/retries.py) is
the worker's own, retried with backoff or failed with a clear ``errorMessage`` when no
retries are left. A cancelled job held by a dead worker only loses its lock. Each rescue
leaves a system audit row. Every worker runs ``run_once`` every ``rescue_interval_seconds``; tests call it
directly after seeding stale rows.
"""

from __future__ import annotations

import random
from collections.abc import Callable

import asyncpg

from jobrunner.db.worker_repository import (
    Orphan,
    Rescue,
    Rescued,
    SystemAudit,
    WorkerRepository,
)
from jobrunner.domain.retries import after_transient_failure
from jobrunner.domain.states import PROGRESS_STATES
from jobrunner.settings import Settings
from jobrunner.worker import events
from jobrunner.worker.registry import retry_backoff

__all__ = ["Rescued", "Rescuer"]


class Rescuer:
    def __init__(
        self,
        pool: asyncpg.Pool,
        settings: Settings,
        *,
        rand: Callable[[], float] = random.random,
        rescuer_id: str | None = None,
    ) -> None:
        self._pool = pool
        self._settings = settings
        self._rand = rand
        self._id = rescuer_id  # the worker running this rescuer, for the log lines

    def _fate(self, orphan: Orphan) -> Rescue:
        if orphan.status not in PROGRESS_STATES:  # cancelled while its worker died: released
            return Rescue(orphan, orphan.status, None, 0.0)
        lease = self._settings.lease_seconds
        if orphan.reason == "session":
            why = f"The worker running this job ({orphan.locked_by}) is gone (its database session ended)"
        else:
            why = f"The worker running this job ({orphan.locked_by}) stopped responding (no heartbeat for {lease:g} s)"
        backoff = retry_backoff(orphan.job_type, self._settings, self._rand)
        decision = after_transient_failure(orphan.retry_count, orphan.max_retries, backoff=backoff)
        return Rescue(
            orphan, decision.status, f"{why}; {'retrying' if decision.retries else 'no retries left'}", decision.delay
        )

    async def run_once(self) -> list[Rescued]:
        """Rescue every orphaned job now; returns what was done."""
        lease = float(self._settings.lease_seconds)
        async with self._pool.acquire() as conn, conn.transaction():
            repo = WorkerRepository(conn)
            orphans = await repo.select_orphans(lease)
            rescued: list[Rescued] = []
            if orphans:
                rescued = await repo.rescue([self._fate(orphan) for orphan in orphans])
                before = {o.id: o.status for o in orphans}
                reasons = {o.id: o.reason for o in orphans}
                audited = [r for r in rescued if before[r.job_id] in PROGRESS_STATES]
                if audited:
                    await repo.audit(
                        [
                            SystemAudit(
                                r.organization_id,
                                "job.rescued",
                                r.job_id,
                                {
                                    "worker": r.worker_id,
                                    "status": r.status,
                                    "reason": reasons[r.job_id],
                                    "leaseSeconds": lease,
                                },
                            )
                            for r in audited
                        ]
                    )
            await repo.delete_dead_workers(lease)
        if rescued:
            types = {o.id: o.job_type for o in orphans}
            for r in audited:
                events.rescued(self._id, r.job_id, types[r.job_id], r.organization_id, r.worker_id, r.status)
        return rescued
