"""The six job states of the product document, who moves a job in and out of each, and
which user actions each allows. The database's ``job_status`` enum must equal this enum
(a test checks it)."""

from __future__ import annotations

from enum import StrEnum


class JobStatus(StrEnum):
    QUEUED = "queued"
    """Waiting to be claimed. In: created through the API, or a manual retry of a failed
    job. Out: a worker claims it (running), or the user cancels it."""

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


FINAL_STATES = frozenset({JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED})
CANCELLABLE_STATES = frozenset({JobStatus.QUEUED, JobStatus.RUNNING, JobStatus.RETRYING})
PROGRESS_STATES = frozenset({JobStatus.RUNNING, JobStatus.RETRYING})


def can_retry(status: JobStatus | str, retry_count: int, max_retries: int) -> bool:
    """Manual retry: only from failed, and only while retries are left."""
    return status == JobStatus.FAILED and retry_count < max_retries


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
