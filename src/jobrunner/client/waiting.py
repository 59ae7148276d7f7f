"""Why a job has not started, in the words of the jobs page (``web/static/words.js``
``waitReason``): its dependencies, its scheduled time, a circuit breaker pausing its type,
the organization's limit of running jobs. Used by ``jobrunner jobs status``."""

from __future__ import annotations

import datetime as dt
from typing import Any

# The API's state names (a client reads them from answers; see docs/api.md).
QUEUED = "queued"
RETRYING = "retrying"


def when(iso: str) -> str:
    """``2099-01-01T00:00:00.000Z`` -> ``2099-01-01 00:00 UTC`` (as ``jobs list`` shows times)."""
    return iso[:16].replace("T", " ") + " UTC"


def _later(iso: str | None, now: dt.datetime) -> bool:
    if not iso:
        return False
    return dt.datetime.fromisoformat(iso.replace("Z", "+00:00")) > now


def needs_activity(job: dict[str, Any], now: dt.datetime | None = None) -> bool:
    """Whether the reason depends on ``GET /v1/me/activity`` (so it is worth asking)."""
    now = now or dt.datetime.now(dt.UTC)
    return job["status"] == QUEUED and not job.get("blockedBy") and not _later(job.get("scheduledAt"), now)


def wait_reason(job: dict[str, Any], activity: dict[str, Any] | None, now: dt.datetime | None = None) -> str | None:
    """Why ``job`` (a job as the API shows it) waits, or None when it does not (it runs or is
    final). ``activity`` is ``GET /v1/me/activity``'s answer, or None when unknown."""
    now = now or dt.datetime.now(dt.UTC)
    status = job["status"]
    if status not in (QUEUED, RETRYING):
        return None
    later = _later(job.get("scheduledAt"), now)
    if status == RETRYING:
        at = f"at {when(job['scheduledAt'])}" if later else "soon"
        return f"Trying again {at} (attempt {job['retryCount'] + 1} of {job['maxRetries'] + 1})"
    blocked = job.get("blockedBy") or 0
    if blocked > 0:
        return f"Waiting for {blocked} {'job' if blocked == 1 else 'jobs'}"
    if later:
        return f"Scheduled for {when(job['scheduledAt'])}"
    if activity is not None:
        paused = next((p for p in activity.get("pausedJobTypes", []) if p["jobType"] == job["jobType"]), None)
        if paused is not None:
            reason = paused["reason"][:1].upper() + paused["reason"][1:]
            if paused["state"] == "open" and paused.get("retryAt"):
                return f"{reason}; trying again at {when(paused['retryAt'])}"
            return reason
        running, limit = activity["organizationRunning"], activity["organizationLimit"]
        if running >= limit:
            return f"Waiting: {running} of {limit} running in your organization"
    return "Waiting for a free worker"
