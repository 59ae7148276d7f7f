"""The retry decision after a transient failure, defined once: the worker's (a processor
raised) and the rescuer's (a worker died) are the same rule.

With retries left (``retry_count < max_retries``) the job goes to retrying, its next
attempt ``delay`` seconds from now: the delay the processor asked for (``RetryLater``),
else the backoff for ``retry_count`` earlier retries. Without, it fails.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from jobrunner.domain.states import JobStatus


@dataclass(frozen=True, slots=True)
class RetryDecision:
    status: JobStatus  # RETRYING or FAILED
    delay: float = 0.0  # seconds until the next attempt (0.0 when failed)

    @property
    def retries(self) -> bool:
        return self.status == JobStatus.RETRYING


def after_transient_failure(
    retry_count: int,
    max_retries: int,
    *,
    backoff: Callable[[int], float],
    requested_delay: float | None = None,
) -> RetryDecision:
    """What follows a transient failure of a job that has had ``retry_count`` retries."""
    if retry_count >= max_retries:
        return RetryDecision(JobStatus.FAILED)
    delay = backoff(retry_count) if requested_delay is None else requested_delay
    return RetryDecision(JobStatus.RETRYING, max(float(delay), 0.0))
