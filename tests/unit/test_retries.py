"""The retry decision after a transient failure (domain/retries.py), shared by the worker
and the rescuer."""

from __future__ import annotations

import uuid

from jobrunner.domain.job import Job
from jobrunner.domain.retries import after_transient_failure
from jobrunner.domain.states import JobStatus


def backoff(retry_count: int) -> float:
    return 10.0 * 2**retry_count


def test_retries_left_retry_after_the_backoff() -> None:
    decision = after_transient_failure(1, 3, backoff=backoff)
    assert (decision.status, decision.delay, decision.retries) == (JobStatus.RETRYING, 20.0, True)


def test_a_requested_delay_wins_and_is_never_negative() -> None:
    assert after_transient_failure(0, 3, backoff=backoff, requested_delay=2.5).delay == 2.5
    assert after_transient_failure(0, 3, backoff=backoff, requested_delay=-1).delay == 0.0


def test_no_retries_left_fails() -> None:
    for retry_count, max_retries in ((3, 3), (0, 0), (5, 3)):
        decision = after_transient_failure(retry_count, max_retries, backoff=backoff, requested_delay=1.0)
        assert (decision.status, decision.delay, decision.retries) == (JobStatus.FAILED, 0.0, False)


def test_job_from_row() -> None:
    job_id = uuid.uuid4()
    job = Job.from_row(
        {
            "id": job_id,
            "organization_id": "o",
            "user_id": "u",
            "job_type": "t",
            "status": "retrying",
            "retry_count": 1,
            "max_retries": 3,
            "payload": None,
            "attempts": 2,
            "unknown_column": 1,
        }
    )
    assert job.status is JobStatus.RETRYING and job.is_retry
    assert (job.id, job.payload, job.attempts, job.progress) == (job_id, {}, 2, 0)
