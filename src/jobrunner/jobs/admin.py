"""The operations console's rules (``jobs.manage_jobs``): every job of the caller's
organization, whoever created it; bulk cancel and "retry anyway"; the live queue and the
workers. Nothing here reaches another organization: every statement is scoped by the
token's organization (db/queries/admin.sql)."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from typing import Any

from jobrunner.auth import rbac
from jobrunner.auth.tokens import TokenClaims
from jobrunner.db.admin_repository import AdminRepository, BulkOutcome, JobFilter
from jobrunner.domain.errors import Conflict, InvalidInput, NotFound
from jobrunner.domain.payload_bounds import check_text
from jobrunner.domain.states import JobStatus, can_retry
from jobrunner.jobs.admin_models import BULK_MAX_JOBS, AdminJobFilter, BulkActionRequest
from jobrunner.jobs.presenters import present_delivery, present_job, present_page
from jobrunner.jobs.service import JOB_NOT_FOUND, parse_job_id
from jobrunner.settings import Settings

# A list counts matching jobs up to this many ("more than 10 000").
COUNT_CAP = 10_000
# A job's history shows at most this many audit rows.
HISTORY_MAX = 500
_HEX_PREFIX = re.compile(r"[0-9a-f]{1,32}")


def id_range(text: str) -> tuple[uuid.UUID, uuid.UUID]:
    """A job id or its first hex digits as the range of uuids it names (uuids sort as
    their hex text does, so the primary key serves a prefix)."""
    digits = text.strip().lower().replace("-", "")
    if not _HEX_PREFIX.fullmatch(digits):
        raise InvalidInput("invalid id", [{"loc": "id", "message": "must be a job id or its first hex digits"}])
    return uuid.UUID(digits.ljust(32, "0")), uuid.UUID(digits.ljust(32, "f"))


def job_filter(given: AdminJobFilter | None, ids: list[uuid.UUID] | None = None, loc: str = "") -> JobFilter:
    if given is None:
        return JobFilter(ids=tuple(ids) if ids is not None else None)
    check_text(given.userId, loc=f"{loc}userId")
    check_text(given.jobType, loc=f"{loc}jobType")
    low, high = id_range(given.id) if given.id else (None, None)
    created_from, created_to = _utc(given.createdFrom), _utc(given.createdTo)
    if created_from and created_to and created_from >= created_to:
        raise InvalidInput(
            "empty created range", [{"loc": f"{loc}createdTo", "message": "must be later than createdFrom"}]
        )
    return JobFilter(
        id_low=low,
        id_high=high,
        user_id=given.userId,
        job_type=given.jobType,
        statuses=tuple(s.value for s in given.status) if given.status else None,
        created_from=created_from,
        created_to=created_to,
    )


def _utc(when: dt.datetime | None) -> dt.datetime | None:
    if when is None or when.tzinfo is not None:
        return when
    return when.replace(tzinfo=dt.UTC)


class AdminService:
    def __init__(self, repository: AdminRepository, settings: Settings) -> None:
        self._repo = repository
        self._settings = settings

    async def _require(self, claims: TokenClaims) -> None:
        access = await self._repo.access(claims.organization_id, claims.user_id, [rbac.MANAGE_JOBS])
        rbac.require(access, rbac.MANAGE_JOBS)

    async def list(self, claims: TokenClaims, given: AdminJobFilter, page: int, size: int) -> dict[str, Any]:
        await self._require(claims)
        where = job_filter(given)
        total, rows = await self._repo.jobs_page(
            claims.organization_id, where, limit=size, offset=(page - 1) * size, count_cap=COUNT_CAP + 1
        )
        answer = present_page("jobs", [_summary(row) for row in rows], min(total, COUNT_CAP), page, size)
        return {**answer, "totalCapped": total > COUNT_CAP}

    async def detail(self, claims: TokenClaims, job_id: str) -> dict[str, Any]:
        await self._require(claims)
        ident = parse_job_id(job_id)
        row = await self._repo.job(claims.organization_id, ident)
        if row is None:
            raise NotFound(JOB_NOT_FOUND)
        history = await self._repo.history(claims.organization_id, ident, HISTORY_MAX + 1)
        deliveries = [] if row["callback_url"] is None else await self._repo.webhook_deliveries(ident)
        status = JobStatus(row["status"])
        return {
            "job": present_job(row),
            "canCancel": status.can_cancel,
            "canRetry": can_retry(status, row["retry_count"], row["max_retries"]),
            "canRetryAnyway": status == JobStatus.FAILED,
            "attempts": row["attempts"],
            "lockedBy": row["locked_by"],
            "history": [_entry(h) for h in history[:HISTORY_MAX]],
            "historyTruncated": len(history) > HISTORY_MAX,
            "webhookDeliveries": [present_delivery(delivery) for delivery in deliveries],
        }

    async def bulk_cancel(self, claims: TokenClaims, request: BulkActionRequest) -> dict[str, Any]:
        await self._require(claims)
        where = job_filter(request.filter, request.jobIds, "filter.")
        outcome = await self._repo.cancel_jobs(claims.organization_id, where, BULK_MAX_JOBS, claims.user_id)
        return _bulk_answer(outcome, "cancelled")

    async def bulk_retry(self, claims: TokenClaims, request: BulkActionRequest) -> dict[str, Any]:
        await self._require(claims)
        where = job_filter(request.filter, request.jobIds, "filter.")
        outcome = await self._repo.retry_jobs_anyway(claims.organization_id, where, BULK_MAX_JOBS, claims.user_id)
        return _bulk_answer(outcome, "queued again")

    async def retry_anyway(self, claims: TokenClaims, job_id: str) -> None:
        """One failed job back to the queue, retries left or not: 404 when it is not the
        organization's, 409 when it is not failed."""
        await self._require(claims)
        ident = parse_job_id(job_id)
        outcome = await self._repo.retry_jobs_anyway(claims.organization_id, JobFilter(ids=(ident,)), 1, claims.user_id)
        if outcome.ids:
            return
        if await self._repo.job(claims.organization_id, ident) is None:
            raise NotFound(JOB_NOT_FOUND)
        raise Conflict("only a failed job can be retried")

    async def queue(self, claims: TokenClaims) -> dict[str, Any]:
        await self._require(claims)
        running, waiting, buckets = await self._repo.queue(claims.organization_id, self._settings.org_concurrency_limit)
        now = dt.datetime.now(dt.UTC)
        oldest = min((w["oldest_due_since"] for w in waiting if w["oldest_due_since"] is not None), default=None)
        return {
            "at": now,
            "running": running["running"],
            "maxRunning": running["max_running"],
            "waiting": [
                {
                    "jobType": w["job_type"],
                    "due": w["due"],
                    "scheduled": w["scheduled"],
                    "oldestDueSince": w["oldest_due_since"],
                }
                for w in waiting
            ],
            "oldestWaitingSeconds": max((now - oldest).total_seconds(), 0.0) if oldest else None,
            "lastHour": [
                {
                    "start": b["bucket_start"],
                    "succeeded": b["succeeded"],
                    "failed": b["failed"],
                    "cancelled": b["cancelled"],
                }
                for b in buckets
            ],
        }

    async def workers(self, claims: TokenClaims) -> dict[str, Any]:
        await self._require(claims)
        rows = await self._repo.workers(claims.organization_id)
        lease = self._settings.lease_seconds
        return {
            "workers": [
                {
                    "id": w["id"],
                    "hostname": w["hostname"],
                    "pid": w["pid"],
                    "slots": w["concurrency"],
                    "slotsInUse": w["in_use"],
                    "slotsInUseByOrganization": w["org_in_use"],
                    "startedAt": w["started_at"],
                    "heartbeatAt": w["heartbeat_at"],
                    "heartbeatAgeSeconds": round(max(w["heartbeat_age"], 0.0), 3),
                    "stale": w["heartbeat_age"] > lease,
                }
                for w in rows
            ]
        }


def _summary(row: Any) -> dict[str, Any]:
    return {
        "id": row["id"],
        "userId": row["user_id"],
        "jobType": row["job_type"],
        "status": row["status"],
        "priority": row["priority"],
        "retryCount": row["retry_count"],
        "maxRetries": row["max_retries"],
        "progress": row["progress"],
        "errorMessage": row["error_message"],
        "createdAt": row["created_at"],
        "startedAt": row["started_at"],
        "completedAt": row["completed_at"],
        "scheduledAt": row["scheduled_at"],
        "updatedAt": row["updated_at"],
    }


def _entry(row: Any) -> dict[str, Any]:
    details = row["details"]
    return {
        "id": row["id"],
        "at": row["created_at"],
        "actor": row["actor"],
        "action": row["action"],
        "userId": row["user_id"],
        "userName": row["display_name"],
        "details": details if isinstance(details, dict) else {"value": details},
    }


def _bulk_answer(outcome: BulkOutcome, done: str) -> dict[str, Any]:
    count = len(outcome.ids)
    more = " (more jobs match: call again)" if outcome.more else ""
    return {
        "jobIds": outcome.ids,
        "count": count,
        "more": outcome.more,
        "message": f"{count} job{'' if count == 1 else 's'} {done}{more}",
    }
