"""Rescue of jobs whose worker died (SIGKILL, lost machine, lost connection).

A job held (``locked_by``) by a worker whose heartbeat is older than the lease, or that
has no worker row at all, failed transiently: it is retried with backoff, or failed with
a clear ``errorMessage`` when no retries are left. A cancelled job held by a dead worker
only loses its lock. Each rescue leaves a system audit row. Every worker runs
``run_once`` periodically; tests call it directly after seeding stale rows.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

import asyncpg

from jobrunner.db.sql import Q
from jobrunner.settings import Settings
from jobrunner.worker.backoff import backoff_seconds

RESCUABLE = ("running", "retrying")


@dataclass(frozen=True)
class Rescued:
    job_id: object
    organization_id: str
    status: str
    worker_id: str


class Rescuer:
    def __init__(self, pool: asyncpg.Pool, settings: Settings, *, rand: Callable[[], float] = random.random) -> None:
        self._pool = pool
        self._settings = settings
        self._rand = rand

    def _fate(self, row: asyncpg.Record) -> tuple[str, str | None, float]:
        lease = self._settings.lease_seconds
        if row["status"] not in RESCUABLE:
            return row["status"], None, 0.0
        why = f"The worker running this job ({row['locked_by']}) stopped responding (no heartbeat for {lease:g} s)"
        if row["retry_count"] < row["max_retries"]:
            delay = backoff_seconds(
                row["retry_count"],
                base=self._settings.retry_backoff_base_seconds,
                cap=self._settings.retry_backoff_cap_seconds,
                rand=self._rand,
            )
            return "retrying", f"{why}; retrying", delay
        return "failed", f"{why}; no retries left", 0.0

    async def run_once(self) -> list[Rescued]:
        """Rescue every orphaned job now; returns what was done."""
        lease = float(self._settings.lease_seconds)
        async with self._pool.acquire() as conn, conn.transaction():
            orphans = await conn.fetch(Q.select_orphaned_jobs, lease)
            rescued: list[Rescued] = []
            if orphans:
                fates = [self._fate(row) for row in orphans]
                rows = await conn.fetch(
                    Q.rescue_jobs,
                    [r["id"] for r in orphans],
                    [r["locked_by"] for r in orphans],
                    [f[0] for f in fates],
                    [f[1] for f in fates],
                    [f[2] for f in fates],
                )
                before = {r["id"]: r["status"] for r in orphans}
                rescued = [Rescued(r["id"], r["organization_id"], r["status"], r["holder"]) for r in rows]
                audited = [r for r in rescued if before[r.job_id] in RESCUABLE]
                if audited:
                    await conn.execute(
                        Q.insert_system_audit,
                        [r.organization_id for r in audited],
                        ["job.rescued"] * len(audited),
                        [r.job_id for r in audited],
                        [{"worker": r.worker_id, "status": r.status, "leaseSeconds": lease} for r in audited],
                    )
            await conn.execute(Q.delete_dead_workers, lease)
        return rescued
