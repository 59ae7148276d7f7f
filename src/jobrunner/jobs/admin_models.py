"""Request and response models of the operations console's API (``/v1/admin``). Answers
are validated and serialized through these models (the console is not a hot path)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from jobrunner.domain.states import JobStatus
from jobrunner.jobs.models import JobOut, WebhookDeliveryOut

# At most this many jobs change per bulk call (and per selection); a filter that names more
# answers ``more: true``: call again for the next ones.
BULK_MAX_JOBS = 1000


class AdminJobFilter(BaseModel):
    """Which jobs of the organization; every field is optional (absent: any)."""

    model_config = ConfigDict(extra="forbid")

    id: Annotated[
        str | None,
        Field(min_length=1, max_length=36, description="A job id, or its first hex digits (dashes optional)."),
    ] = None
    userId: Annotated[str | None, Field(min_length=1, max_length=64, description="Who created the job.")] = None
    jobType: Annotated[str | None, Field(min_length=1, max_length=50)] = None
    status: Annotated[list[JobStatus] | None, Field(min_length=1, max_length=6, description="Any of these.")] = None
    createdFrom: Annotated[dt.datetime | None, Field(description="Created at or after (ISO 8601).")] = None
    createdTo: Annotated[dt.datetime | None, Field(description="Created before (ISO 8601).")] = None


class BulkActionRequest(BaseModel):
    """Exactly one of ``jobIds`` (a selection) and ``filter``."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"filter": {"jobType": "notification", "status": ["failed"], "createdFrom": "2024-01-30T10:00:00Z"}}
            ]
        },
    )

    jobIds: Annotated[list[uuid.UUID] | None, Field(min_length=1, max_length=BULK_MAX_JOBS)] = None
    filter: AdminJobFilter | None = None

    @model_validator(mode="after")
    def _one_of(self) -> BulkActionRequest:
        if (self.jobIds is None) == (self.filter is None):
            raise ValueError("give either jobIds or filter")
        return self


class BulkActionResponse(BaseModel):
    jobIds: list[uuid.UUID] = Field(description="The jobs this call changed.")
    count: int
    more: bool = Field(description=f"The filter names further jobs (beyond {BULK_MAX_JOBS}): call again.")
    message: str


class AdminJobSummary(BaseModel):
    id: uuid.UUID
    userId: str
    jobType: str
    status: JobStatus
    priority: int
    retryCount: int
    maxRetries: int
    progress: int
    errorMessage: str | None
    createdAt: dt.datetime
    startedAt: dt.datetime | None
    completedAt: dt.datetime | None
    scheduledAt: dt.datetime | None
    updatedAt: dt.datetime


class AdminJobListResponse(BaseModel):
    jobs: list[AdminJobSummary]
    total: int = Field(description="Jobs the filter names, counted up to a cap (see totalCapped).")
    totalCapped: bool = Field(description="More jobs match than total says.")
    page: int
    pageSize: int
    totalPages: int


class HistoryEntry(BaseModel):
    """One audit row about the job. ``action`` is open-ended (job.created, job.cancelled,
    job.retried, job.retried_anyway, job.rescued, and whatever the service records)."""

    id: int
    at: dt.datetime
    actor: str = Field(description="user or system")
    action: str
    userId: str | None
    userName: str | None
    details: dict[str, Any]


class AdminJobDetail(BaseModel):
    job: JobOut
    canCancel: bool
    canRetry: bool = Field(description="The document's rule for users: failed with retries left.")
    canRetryAnyway: bool = Field(
        description="An administrator may retry any failed job, retries left or not (the one exception to canRetry)."
    )
    attempts: int = Field(description="Attempts started so far.")
    lockedBy: str | None = Field(description="The worker holding the job, if any.")
    history: list[HistoryEntry]
    historyTruncated: bool
    webhookDeliveries: list[WebhookDeliveryOut] = Field(
        description="The job's completion webhooks with their attempts (docs/webhooks.md); empty without a callback."
    )


class WaitingByType(BaseModel):
    jobType: str
    due: int = Field(description="Ready to run now.")
    scheduled: int = Field(description="Waiting for a scheduled time or a retry's backoff.")
    oldestDueSince: dt.datetime | None


class ThroughputBucket(BaseModel):
    start: dt.datetime
    succeeded: int
    failed: int
    cancelled: int


class QueueResponse(BaseModel):
    at: dt.datetime
    running: int = Field(description="Jobs held by a worker now.")
    maxRunning: int = Field(description="The organization's concurrency limit.")
    waiting: list[WaitingByType]
    oldestWaitingSeconds: float | None = Field(description="Age of the oldest job ready to run.")
    lastHour: list[ThroughputBucket] = Field(description="Twelve five-minute buckets, oldest first.")


class WorkerOut(BaseModel):
    id: str
    hostname: str
    pid: int
    slots: int = Field(description="Jobs it may run at once.")
    slotsInUse: int = Field(description="Jobs it holds now, of every organization.")
    slotsInUseByOrganization: int = Field(description="Of those, the caller's organization's.")
    startedAt: dt.datetime
    heartbeatAt: dt.datetime
    heartbeatAgeSeconds: float
    stale: bool = Field(description="No heartbeat for longer than the lease: its jobs are about to be rescued.")


class WorkersResponse(BaseModel):
    workers: list[WorkerOut]
