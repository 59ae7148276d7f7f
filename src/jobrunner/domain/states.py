"""The six job states of the product document, the moves between them (who makes each,
with which SQL statement), and which user actions each state allows.

This module is the one definition of the state machine. The database's ``job_status``
enum must equal ``JobStatus``; its ``job_status_transitions`` table is generated from
``TRANSITIONS`` (migration 0005) and a trigger refuses any other change of status
(SQLSTATE ``ILLEGAL_TRANSITION_SQLSTATE``); the JS client's state sets must equal the sets
here. Tests check all three.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum


class JobStatus(StrEnum):
    QUEUED = "queued"
    """Waiting to be claimed. In: created through the API, or a manual retry of a failed
    job. Out: a worker claims it (running), or the user cancels it. A job created with
    ``dependsOn`` stays queued, out of the claim's reach, while ``blocked_by > 0`` (some
    dependency has not succeeded yet); it is cancelled when a dependency fails or is
    cancelled (domain/dependencies.py)."""

    RUNNING = "running"
    """A worker holds it (``locked_by``) and runs its first attempt. Out: succeeded, failed
    (permanent error, or transient with no retries left), retrying (transient error),
    cancelled (the user), or retrying/failed by the rescuer when its worker died."""

    SUCCEEDED = "succeeded"
    """Final. The processor returned; ``result`` holds what it returned."""

    FAILED = "failed"
    """Final. ``errorMessage`` says why. The user may retry it manually while
    ``retryCount < maxRetries``, which moves it back to queued."""

    CANCELLED = "cancelled"
    """Final. The user cancelled it while queued, running or retrying; a running processor
    notices within a second, stops, and removes its partial output."""

    RETRYING = "retrying"
    """An automatic retry is under way: a transient error happened, the job waits for its
    backoff (``scheduledAt`` is the next attempt), then a worker claims it again and it
    stays retrying while that attempt runs. Out: succeeded, failed, cancelled, or retrying
    again."""

    @property
    def is_final(self) -> bool:
        return self in FINAL_STATES

    @property
    def can_cancel(self) -> bool:
        return self in CANCELLABLE_STATES


class Actor(StrEnum):
    """Who moves a job from one state to another."""

    USER = "user"  # through the API (cancel, manual retry)
    WORKER = "worker"  # the worker holding the job (claim, outcome, hand-back at shutdown)
    RESCUER = "rescuer"  # any worker, for a job whose worker stopped heartbeating
    ADMIN = "admin"  # an administrator through the operations console (jobs.manage_jobs)
    # The database, in the transaction of another job's change (migration 0010's trigger
    # jobrunner_resolve_dependants: a dependency failed or was cancelled).
    SYSTEM = "system"


@dataclass(frozen=True, slots=True)
class Mover:
    """One way a move happens: who makes it, with which named SQL statement (db/queries,
    or the ``jobrunner_claim_jobs`` function behind ``claim_jobs``)."""

    actor: Actor
    statement: str
    why: str


S = JobStatus
# Every change of status there is. The database refuses any other (migration 0005).
# Staying in a state is no transition and always allowed: a retrying job stays retrying
# while a worker claims and runs its next attempt (and when that attempt fails
# transiently again or is handed back at shutdown); a running job stays running while
# its progress is written.
TRANSITIONS: Mapping[tuple[JobStatus, JobStatus], tuple[Mover, ...]] = {
    (S.QUEUED, S.RUNNING): (Mover(Actor.WORKER, "claim_jobs", "a worker claims it"),),
    (S.QUEUED, S.CANCELLED): (
        Mover(Actor.USER, "cancel_job", "the user cancels it"),
        Mover(Actor.ADMIN, "admin_cancel_jobs", "an administrator cancels it (bulk)"),
        Mover(Actor.SYSTEM, "jobrunner_resolve_dependants", "a job it depends on failed or was cancelled"),
    ),
    (S.RUNNING, S.SUCCEEDED): (Mover(Actor.WORKER, "finish_jobs", "the processor returned"),),
    (S.RUNNING, S.FAILED): (
        Mover(Actor.WORKER, "finish_jobs", "permanent error, or transient with no retries left"),
        Mover(Actor.RESCUER, "rescue_jobs", "its worker died and no retries are left"),
    ),
    (S.RUNNING, S.RETRYING): (
        Mover(Actor.WORKER, "finish_jobs", "transient error with retries left"),
        Mover(Actor.RESCUER, "rescue_jobs", "its worker died and retries are left"),
    ),
    (S.RUNNING, S.QUEUED): (Mover(Actor.WORKER, "finish_jobs", "a first attempt handed back at shutdown"),),
    (S.RUNNING, S.CANCELLED): (
        Mover(Actor.USER, "cancel_job", "the user cancels it"),
        Mover(Actor.ADMIN, "admin_cancel_jobs", "an administrator cancels it (bulk)"),
    ),
    (S.RETRYING, S.SUCCEEDED): (Mover(Actor.WORKER, "finish_jobs", "the processor returned"),),
    (S.RETRYING, S.FAILED): (
        Mover(Actor.WORKER, "finish_jobs", "permanent error, or transient with no retries left"),
        Mover(Actor.RESCUER, "rescue_jobs", "its worker died and no retries are left"),
    ),
    (S.RETRYING, S.CANCELLED): (
        Mover(Actor.USER, "cancel_job", "the user cancels it"),
        Mover(Actor.ADMIN, "admin_cancel_jobs", "an administrator cancels it (bulk)"),
    ),
    (S.FAILED, S.QUEUED): (
        Mover(Actor.USER, "retry_job", "manual retry while retries are left"),
        # The one exception to can_retry: any failed job, with a fresh retry budget.
        Mover(Actor.ADMIN, "admin_retry_jobs", "an administrator retries it anyway"),
    ),
}
del S

# The SQLSTATE (and message prefix) of the trigger that refuses any other change of status.
ILLEGAL_TRANSITION_SQLSTATE = "JR001"
ILLEGAL_TRANSITION_MESSAGE = "illegal job status transition"


def is_allowed(source: JobStatus | str, target: JobStatus | str) -> bool:
    """May a job go from ``source`` to ``target``? Staying put always may."""
    source, target = JobStatus(source), JobStatus(target)
    return source == target or (source, target) in TRANSITIONS


FINAL_STATES = frozenset({JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED})
# The states a user may cancel from: those with a move to cancelled.
CANCELLABLE_STATES = frozenset(src for src, dst in TRANSITIONS if dst == JobStatus.CANCELLED)
# The states a user may retry from (while retries are left): those a user moves to queued.
RETRYABLE_STATES = frozenset(
    src
    for (src, dst), movers in TRANSITIONS.items()
    if dst == JobStatus.QUEUED and any(m.actor == Actor.USER for m in movers)
)
# A worker holds the job and writes its progress.
PROGRESS_STATES = frozenset({JobStatus.RUNNING, JobStatus.RETRYING})
# Waiting for a worker (when not locked and due): what the claim takes.
CLAIMABLE_STATES = frozenset({JobStatus.QUEUED, JobStatus.RETRYING})


class StopReason(StrEnum):
    """Why a worker stopped a processor before it ended by itself."""

    CANCELLED = "cancelled"  # the user cancelled the job: only the lock is released
    TIMED_OUT = "timed_out"  # the job type's timeout passed: a transient failure
    SHUTDOWN = "shutdown"  # the worker is stopping: the job is handed back
    LEASE_LOST = "lease_lost"  # this worker could not heartbeat for a lease: handed back


def can_retry(status: JobStatus | str, retry_count: int, max_retries: int) -> bool:
    """Manual retry: only from failed, and only while retries are left."""
    return status in RETRYABLE_STATES and retry_count < max_retries


def poll_interval_seconds(status: JobStatus | str, *, just_created: bool = False) -> int | None:
    """The document's polling recommendation: 2 s right after creation, 10 s while queued,
    5 s while running or retrying, none once final."""
    status = JobStatus(status)
    if status.is_final:
        return None
    if just_created:
        return 2
    if status == JobStatus.QUEUED:
        return 10
    return 5
