"""The cluster-wide view the API serves at ``/metrics``: jobs waiting and running by state
and type, the oldest waiting job's age, the top organizations by backlog, workers alive.

Read from the database every ``JOBRUNNER_METRICS_SNAPSHOT_INTERVAL_SECONDS`` by one task
of the API process (``run``), never per scrape: a scrape renders the last snapshot, so
any number of scrapers cost the database nothing more. Labels stay bounded (state x job
type; ``TOP_ORGANIZATIONS`` organizations at most)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterator
from typing import Any

from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from jobrunner.db.errors import DRIVER_ERRORS
from jobrunner.db.sql import Q

log = logging.getLogger(__name__)

TOP_ORGANIZATIONS = 10


class Snapshot(Collector):
    def __init__(self, lease_seconds: float) -> None:
        self._lease = lease_seconds
        self.active: list[Any] = []
        self.top: list[Any] = []
        self.workers: Any = None
        self.breakers: list[Any] = []
        self.taken_at = 0.0  # Unix time of the last snapshot (0: none yet)

    async def refresh(self, pool: Any) -> None:
        async with pool.acquire() as conn:
            active = await conn.fetch(Q.metrics_active_jobs)
            top = await conn.fetch(Q.metrics_top_backlog, TOP_ORGANIZATIONS)
            workers = await conn.fetchrow(Q.metrics_workers, self._lease)
            breakers = await conn.fetch(Q.metrics_breakers)
        self.active, self.top, self.workers, self.breakers = active, top, workers, breakers
        self.taken_at = time.time()

    async def run(self, pool_of: Any, interval: float) -> None:
        """Refresh every ``interval`` seconds until cancelled; ``pool_of()`` is the pool
        (None while the app starts). A database away is logged and retried next time."""
        while True:
            pool = pool_of()
            if pool is not None:
                try:
                    await self.refresh(pool)
                except DRIVER_ERRORS as exc:
                    log.warning("metrics snapshot failed (%s); the last one is served", type(exc).__name__)
                except Exception:
                    log.exception("metrics snapshot failed")
            await asyncio.sleep(interval)

    def collect(self) -> Iterator[Metric]:
        jobs = GaugeMetricFamily(
            "jobrunner_jobs",
            "Jobs waiting (queued, retrying) or running (held by a worker)",
            labels=["state", "job_type"],
        )
        oldest = GaugeMetricFamily(
            "jobrunner_jobs_oldest_waiting_seconds",
            "Age of the oldest job that is due and waiting, by state and type",
            labels=["state", "job_type"],
        )
        for row in self.active:
            jobs.add_metric([row["status"], row["job_type"]], row["jobs"])
            if row["status"] != "running":
                oldest.add_metric([row["status"], row["job_type"]], row["oldest_seconds"])
        yield jobs
        yield oldest
        top = GaugeMetricFamily(
            "jobrunner_organization_backlog",
            f"Jobs waiting, for the {TOP_ORGANIZATIONS} organizations with the most",
            labels=["organization"],
        )
        for row in self.top:
            top.add_metric([row["organization_id"]], row["jobs"])
        yield top
        workers = GaugeMetricFamily("jobrunner_workers", "Worker processes by heartbeat", labels=["state"])
        if self.workers is not None:
            workers.add_metric(["alive"], self.workers["alive"])
            workers.add_metric(["silent"], self.workers["silent"])
            yield GaugeMetricFamily("jobrunner_workers_slots", "Slots of the live workers", value=self.workers["slots"])
            age = self.workers["freshest_heartbeat_age"]
            if age is not None:
                yield GaugeMetricFamily(
                    "jobrunner_workers_freshest_heartbeat_age_seconds",
                    "Seconds since the most recent heartbeat of any worker",
                    value=age,
                )
        yield workers
        yield from self._breakers()
        yield GaugeMetricFamily(
            "jobrunner_metrics_snapshot_timestamp_seconds",
            "Unix time of the snapshot these figures come from",
            value=self.taken_at,
        )

    def _breakers(self) -> Iterator[Metric]:
        """Circuit breakers (docs/flow-control.md) by job type and state: how many (the
        cluster's, or one per organization that counted a failure). Bounded labels: no
        organization."""
        state = GaugeMetricFamily(
            "jobrunner_circuit_breakers",
            "Circuit breakers of a job type in each state (closed, open, half_open)",
            labels=["job_type", "state"],
        )
        for row in self.breakers:
            state.add_metric([row["job_type"], row["state"]], row["breakers"])
        yield state
