"""What a worker tells operators about its jobs: one log line per job event (``jobrunner.job``)
and the job metrics of this process (observability/metrics.py). The engine (loop.py,
rescuer.py, writer.py) calls these at its event points; nothing here waits or decides.

Every line carries ``job_id``, ``job_type``, ``organization``, ``worker`` and ``attempt``.
``claimed`` is a debug line (a busy worker claims thousands of jobs a second; the outcome
line carries the queue wait and duration); steps and outcomes are info lines, rescues and
timeouts warnings."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from jobrunner.domain.job import Job
from jobrunner.domain.states import JobStatus
from jobrunner.observability.logs import EventLog
from jobrunner.observability.metrics import JOBS, WORKER

JOB_LOG = EventLog("jobrunner.job")


def _line(log: Any, event: str, worker_id: str | None, ctx: Any, **extra: Any) -> None:
    """One job event line: the fields of the job ``ctx`` runs, then ``extra``."""
    log(
        event,
        job_id=str(ctx.job_id),
        job_type=ctx.job_type,
        organization=ctx.organization_id,
        worker=worker_id,
        attempt=ctx.attempt,
        **extra,
    )


def claimed(worker_id: str, job: Job, ctx: Any) -> float:
    """A job starts an attempt here (``ctx``: its context); returns its queue wait."""
    wait = job.queue_wait
    counts = JOBS.of(job.job_type)
    counts.started += 1
    counts.wait.observe(wait)
    WORKER.running += 1
    if JOB_LOG.enabled(logging.DEBUG):
        _line(JOB_LOG.debug, "claimed", worker_id, ctx, queue_wait_ms=round(wait * 1000, 1))
    return wait


def step(worker_id: str, ctx: Any) -> None:
    """A processor started step ``ctx.state.step``."""
    _line(JOB_LOG.info, "step", worker_id, ctx, step=ctx.state.step, label=ctx.state.label)


def ended(worker_id: str, ctx: Any, status: JobStatus | None, seconds: float, **details: Any) -> None:
    """An attempt ended: ``status`` is its outcome (succeeded, failed, retrying with a retry
    counted, or queued/retrying without one: handed back at shutdown); None: cancelled."""
    WORKER.running -= 1
    counts = JOBS.of(ctx.job_type)
    counts.duration.observe(seconds)
    if status == JobStatus.SUCCEEDED:
        counts.succeeded += 1
        event, level = "succeeded", JOB_LOG.info
    elif status == JobStatus.FAILED:
        counts.failed += 1
        event, level = "failed", JOB_LOG.warning
    elif status is None:
        counts.cancelled += 1
        event, level = "cancelled", JOB_LOG.info
    elif details.get("retry_in_s") is not None:
        counts.retried += 1
        event, level = "retried", JOB_LOG.warning
    else:
        event, level = "handed back", JOB_LOG.info
    extra = {k: v for k, v in details.items() if v is not None}
    _line(level, event, worker_id, ctx, duration_ms=round(seconds * 1000, 1), **extra)


def timed_out(worker_id: str, ctx: Any, timeout_seconds: float) -> None:
    JOBS.of(ctx.job_type).timed_out += 1
    _line(JOB_LOG.warning, "timed out", worker_id, ctx, timeout_seconds=timeout_seconds)


def rescued(
    rescuer_id: str | None, job_id: uuid.UUID, job_type: str, organization: str, dead_worker: str, status: str
) -> None:
    """The rescuer handed back (``retrying``) or failed a job of a dead worker."""
    JOBS.of(job_type).rescued += 1
    JOB_LOG.warning(
        "rescued",
        job_id=str(job_id),
        job_type=job_type,
        organization=organization,
        worker=rescuer_id,
        dead_worker=dead_worker,
        status=str(status),
    )


def outcome_dropped(worker_id: str, job_id: uuid.UUID, status: JobStatus) -> None:
    """The guard refused an outcome: the job was cancelled or rescued before it landed."""
    JOB_LOG.info("outcome dropped", job_id=str(job_id), worker=worker_id, status=str(status))


def heartbeat(now: float) -> None:
    WORKER.heartbeat.set(now)
    WORKER.heartbeats.inc()
