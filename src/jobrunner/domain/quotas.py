"""The per-organization quotas and what a refusal says. The counting is PostgreSQL's
(``jobrunner_admit_job`` and ``jobrunner_admit_upload``, migration 0004), atomic with the
insert, so the limits hold across any number of API processes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from jobrunner.domain.errors import QuotaExceeded

# Retry-After when the waiting jobs are at the limit: they start as workers free up.
QUEUED_RETRY_AFTER_SECONDS = 30
# Retry-After when stored uploads are at the limit: room comes back only when uploads are
# deleted (a cleanup job), so this is a hint, not a promise.
UPLOAD_RETRY_AFTER_SECONDS = 3600


@dataclass(frozen=True, slots=True)
class JobQuotas:
    """The settings' limits (``None``: no limit); organization_limits overrides them."""

    max_queued_jobs: int | None = None
    max_creations_per_minute: int | None = None


def job_refusal(refused: str, quota: int, retry_after: int | None) -> QuotaExceeded:
    if refused == "queued_jobs":
        return QuotaExceeded(
            f"your organization already has {quota} jobs waiting to start, its limit; try again when some have started",
            QUEUED_RETRY_AFTER_SECONDS,
        )
    seconds = retry_after or 1
    return QuotaExceeded(
        f"you have created {quota} jobs in the last minute, the limit; try again in {seconds} s",
        seconds,
    )


def upload_refusal(row: Any, size: int) -> QuotaExceeded:
    return QuotaExceeded(
        f"this upload{f' ({size} bytes)' if size else ''} would take your organization's stored uploads over "
        f"its limit of {row['quota']} bytes ({row['used_bytes']} stored); "
        "delete old uploads (a cleanup job) to make room",
        UPLOAD_RETRY_AFTER_SECONDS,
    )
