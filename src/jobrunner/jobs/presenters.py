"""Database rows -> the API's JSON (camelCase keys, ISO 8601 UTC timestamps with
milliseconds and ``Z``), plus the per-job-type result presenters.

A result presenter rewrites a job's stored ``result`` on every read: the export feature
registers one that issues a fresh signed ``downloadUrl`` each time the status is read.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import orjson

from jobrunner.domain.states import JobStatus, can_retry, poll_interval_seconds
from jobrunner.timestamps import iso_utc

ResultPresenter = Callable[[dict[str, Any], Mapping[str, Any]], dict[str, Any]]
"""``fn(result, job_row) -> result``; ``job_row`` has the database column names."""

_RESULT_PRESENTERS: dict[str, ResultPresenter] = {}

# A job younger than this and still queued is "right after creation" (poll in 2 s).
JUST_CREATED_SECONDS = 2.0


def register_result_presenter(job_type: str, presenter: ResultPresenter) -> ResultPresenter:
    _RESULT_PRESENTERS[job_type] = presenter
    return presenter


def present_result(row: Mapping[str, Any]) -> Any:
    result = row["result"]
    presenter = _RESULT_PRESENTERS.get(row["job_type"])
    if not isinstance(result, dict) or presenter is None:
        return result
    return presenter(result, row)


def present_job(row: Mapping[str, Any], omitted: Sequence[str] = ()) -> dict[str, Any]:
    """Every key, always; never an engine column. ``omitted`` names the fields left out
    (null) because they are too large for a list answer (see ``list_jobs``)."""
    return {
        "id": str(row["id"]),
        "organizationId": row["organization_id"],
        "userId": row["user_id"],
        "jobType": row["job_type"],
        "status": row["status"],
        "priority": row["priority"],
        "retryCount": row["retry_count"],
        "maxRetries": row["max_retries"],
        "payload": row["payload"],
        "result": present_result(row),
        "errorMessage": row["error_message"],
        "progress": row["progress"],
        "totalSteps": row["total_steps"],
        "currentStep": row["current_step"],
        "stepLabel": row["step_label"],
        "startedAt": iso_utc(row["started_at"]),
        "completedAt": iso_utc(row["completed_at"]),
        "scheduledAt": iso_utc(row["scheduled_at"]),
        "createdAt": iso_utc(row["created_at"]),
        "updatedAt": iso_utc(row["updated_at"]),
        "scheduleId": _text(row["schedule_id"]),
        "templateId": _text(row["template_id"]),
        "dependsOn": row["depends_on"],
        "blockedBy": row["blocked_by"],
        "callbackUrl": row.get("callback_url"),
        "omitted": list(omitted),
    }


def present_page(key: str, items: list[dict[str, Any]], total: int, page: int, size: int) -> dict[str, Any]:
    """One page of a list answer (jobs, templates, schedules): the items under ``key``,
    then where the page stands."""
    return {key: items, "total": total, "page": page, "pageSize": size, "totalPages": math.ceil(total / size)}


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


# Nesting the answers add around a job's payload or result ({"jobs": [{"payload": …}]}),
# with a margin: a value that serializes inside this many lists fits in any answer.
_ANSWER_NESTING = 4
_SHOWN_FIELDS = ("payload", "result")


def dumps_jobs_answer(body: Any, jobs: Sequence[dict[str, Any]]) -> bytes:
    """The answer as JSON bytes. A stored job must never break a read: a payload or
    result that cannot be serialized (nested deeper than orjson allows, or unreadable
    when fetched) is shown as null and named in the job's ``omitted``. The check runs only
    when the plain serialization fails, so the polling path pays nothing for it."""
    try:
        return orjson.dumps(body)
    except orjson.JSONEncodeError:
        for job in jobs:
            for field in _SHOWN_FIELDS:
                if job[field] is not None and not _serializable(job[field]):
                    job[field] = None
                    job["omitted"].append(field)
        return orjson.dumps(body)


def _serializable(value: Any) -> bool:
    wrapped = value
    for _ in range(_ANSWER_NESTING):
        wrapped = [wrapped]
    try:
        orjson.dumps(wrapped)
    except orjson.JSONEncodeError:
        return False
    return True


def present_status(row: Mapping[str, Any], deliveries: Sequence[Mapping[str, Any]] = ()) -> dict[str, Any]:
    """The status answer: the product document's four keys; a job with a callback URL also
    has ``webhookDeliveries`` (``deliveries``: its ``job_webhook_deliveries`` rows)."""
    status = JobStatus(row["status"])
    answer = {
        "job": present_job(row),
        "progress": row["progress"],
        "canCancel": status.can_cancel,
        "canRetry": can_retry(status, row["retry_count"], row["max_retries"]),
    }
    if row.get("callback_url") is not None:
        answer["webhookDeliveries"] = [present_delivery(delivery) for delivery in deliveries]
    return answer


def present_delivery(row: Mapping[str, Any]) -> dict[str, Any]:
    pending = row["state"] == "pending"
    return {
        "id": str(row["id"]),
        "type": row["event"],
        "state": row["state"],
        "attempts": row["attempts"],  # stored in the answer's shape (webhooks/dispatcher.py)
        "nextAttemptAt": iso_utc(row["next_attempt_at"]) if pending else None,
        "createdAt": iso_utc(row["created_at"]),
    }


def status_etag(row: Mapping[str, Any], deliveries: Sequence[Mapping[str, Any]] = ()) -> str:
    """A weak validator of the job's state: it changes with every write to the row (all
    writes set updated_at; status/progress/step/retries guard against same-millisecond
    writes) and with every webhook attempt. Weak, because a result presenter may issue a
    new but equivalent link."""
    updated = row["updated_at"]
    stamp = int(updated.timestamp() * 1000)
    tag = f"{row['id'].hex}-{stamp:x}-{row['status']}-{row['progress']}-{row['current_step']}-{row['retry_count']}"
    if deliveries:
        tag += "-" + ".".join(f"{len(d['attempts'])}{d['state'][0]}" for d in deliveries)
    return f'W/"{tag}"'


def retry_after(row: Mapping[str, Any], now: float | None = None) -> int | None:
    """Seconds until the next useful poll (None once the job is final)."""
    status = row["status"]
    now = time.time() if now is None else now
    just_created = status == JobStatus.QUEUED and now - row["created_at"].timestamp() < JUST_CREATED_SECONDS
    return poll_interval_seconds(status, just_created=just_created)
