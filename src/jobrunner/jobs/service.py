"""The jobs API's rules: who may do what, which state allows what, and the audit trail
(written by the same statement as each change; see db/queries/jobs.sql)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

import asyncpg
from pydantic import ValidationError

from jobrunner.auth import rbac
from jobrunner.auth.tokens import TokenClaims
from jobrunner.db.jobs_repository import IdempotentAnswer, JobsRepository, NewJob, StoredAnswer
from jobrunner.db.templates_repository import TemplatesRepository
from jobrunner.domain import idempotency
from jobrunner.domain.dependencies import DependencyRef
from jobrunner.domain.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from jobrunner.domain.merge_patch import merge_patch
from jobrunner.domain.payload_bounds import check_text
from jobrunner.domain.quotas import JobQuotas
from jobrunner.jobs.models import CreateJobRequest, field_errors
from jobrunner.jobs.presenters import present_job, present_page
from jobrunner.jobs.template_models import CreateJobFromTemplateRequest
from jobrunner.jobs.validation import creation_permissions, known_job_type, validated_payload
from jobrunner.observability.metrics import JOBS_CREATED
from jobrunner.outbound.client import policy_from
from jobrunner.settings import Settings

JOB_NOT_FOUND = "job not found"
TEMPLATE_NOT_FOUND = "template not found"
CREATED_STATUS = 202
# OFFSET beyond this is refused as input rather than sent to the database.
MAX_PAGE = 100_000


def parse_job_id(text: str) -> uuid.UUID:
    """A job id that is not a UUID names no job: 404, like any job the caller can't see."""
    if len(text) > 64:
        raise NotFound(JOB_NOT_FOUND)
    try:
        return uuid.UUID(text)
    except ValueError:
        raise NotFound(JOB_NOT_FOUND) from None


@dataclass(frozen=True, slots=True)
class Page:
    number: int
    size: int
    status: str | None
    job_type: str | None
    id_prefix: str | None = None


@dataclass(frozen=True, slots=True)
class Created:
    """The answer to a creation: status and body, and whether it is a replay of the first
    answer to the same idempotency key."""

    job_id: uuid.UUID
    status: int
    body: dict[str, Any]
    replayed: bool = False


def created_body(job_id: uuid.UUID) -> dict[str, Any]:
    return {"jobId": str(job_id), "message": "Job created successfully"}


def _replay(stored: StoredAnswer, fingerprint: bytes) -> Created:
    if stored.request_hash != fingerprint:
        raise idempotency.body_mismatch()
    return Created(stored.job_id, stored.status, stored.body, replayed=True)


class JobService:
    def __init__(self, repository: JobsRepository, settings: Settings, templates: TemplatesRepository) -> None:
        self._repo = repository
        self._templates = templates
        self._settings = settings
        self._quotas = JobQuotas(settings.quota_max_queued_jobs, settings.quota_max_creations_per_minute)

    async def create(self, claims: TokenClaims, body: Any, idempotency_key: str | None = None) -> Created:
        """A new job from a body of ``POST /v1/jobs`` (a job type and payload, or a
        ``templateId`` with overrides). With an idempotency key: the first answer again
        for the same key and body (``Created.replayed``), a 422 for another body."""
        access = await self._repo.access(
            claims.organization_id, claims.user_id, [rbac.CREATE_JOBS, rbac.VIEW_JOBS, *creation_permissions()]
        )
        rbac.require(access, rbac.CREATE_JOBS)
        key = idempotency.check_key(idempotency_key) if idempotency_key is not None else None
        if key is None:
            job = await self._new_job(claims, access, body)
            job_id = await self._repo.create(job, self._quotas)
            JOBS_CREATED.labels(job.job_type).inc()
            return Created(job_id, CREATED_STATUS, created_body(job_id))
        fingerprint = idempotency.request_hash(body)
        ttl = self._settings.idempotency_key_ttl_seconds
        # A replay first: it must not depend on what changed since (a scheduledAt now past).
        stored = await self._repo.stored_answer(claims.organization_id, claims.user_id, key, ttl)
        if stored is not None:
            return _replay(stored, fingerprint)
        job = dataclasses.replace(await self._new_job(claims, access, body), id=uuid.uuid4())
        assert job.id is not None
        answer = IdempotentAnswer(key, fingerprint, ttl, CREATED_STATUS, created_body(job.id))
        stored = await self._repo.create_idempotent(job, self._quotas, answer)
        if stored is not None:  # a concurrent request with this key won
            return _replay(stored, fingerprint)
        JOBS_CREATED.labels(job.job_type).inc()
        return Created(job.id, answer.status, answer.body)

    async def _new_job(self, claims: TokenClaims, access: rbac.Access, body: Any) -> NewJob:
        if isinstance(body, dict) and "templateId" in body:
            return await self._from_template(claims, access, body)
        request = _validate_request(body, self._settings)
        if request.dependsOn:
            # Depending on a job means reading its outcome (and its result): as polling it.
            rbac.require(access, rbac.VIEW_JOBS)
        job_type = known_job_type(request.jobType)
        rbac.require(access, job_type.permission)
        return NewJob(
            organization_id=claims.organization_id,
            user_id=claims.user_id,
            job_type=job_type.name,
            priority=request.priority,
            max_retries=request.maxRetries if "maxRetries" in request.model_fields_set else job_type.retry.max_retries,
            payload=validated_payload(job_type, request.payload, self._settings),
            total_steps=job_type.total_steps,
            scheduled_at=_future(request.scheduledAt),
            depends_on=tuple(
                DependencyRef(item) if isinstance(item, uuid.UUID) else DependencyRef(item.jobId, item.as_)
                for item in request.dependsOn
            ),
            callback_url=request.callbackUrl,
        )

    async def _from_template(self, claims: TokenClaims, access: rbac.Access, body: dict[str, Any]) -> NewJob:
        """The template's configuration with the request's overrides, checked as a job
        created directly is (the job type's permission, the merged payload)."""
        try:
            request = CreateJobFromTemplateRequest.model_validate(body)
        except ValidationError as exc:
            raise InvalidInput("invalid request body", field_errors(exc)) from exc
        template = await self._templates.get(claims.organization_id, request.templateId)
        if template is None:
            raise NotFound(TEMPLATE_NOT_FOUND)
        job_type = known_job_type(template["job_type"], loc="templateId")
        rbac.require(access, job_type.permission)
        sent = request.model_fields_set
        payload = merge_patch(template["payload"], request.payload) if "payload" in sent else template["payload"]
        return NewJob(
            organization_id=claims.organization_id,
            user_id=claims.user_id,
            job_type=job_type.name,
            priority=request.priority if "priority" in sent else template["priority"],
            max_retries=request.maxRetries if "maxRetries" in sent else template["max_retries"],
            payload=validated_payload(job_type, payload, self._settings),
            total_steps=job_type.total_steps,
            scheduled_at=_future(request.scheduledAt),
            template_id=template["id"],
        )

    async def status_row(self, claims: TokenClaims, job_id: str) -> asyncpg.Record:
        """The caller's job, permission and membership checked in the same round trip."""
        ident = parse_job_id(job_id)
        row = await self._repo.job_with_access(claims.organization_id, claims.user_id, rbac.VIEW_JOBS, ident)
        rbac.require_member(row["is_member"])
        if not row["allowed"]:
            raise PermissionDenied(f"missing permission {rbac.VIEW_JOBS}")
        if row["id"] is None:
            raise NotFound(JOB_NOT_FOUND)
        return row

    async def webhook_deliveries(self, row: asyncpg.Record) -> list[asyncpg.Record]:
        """The deliveries of a job with a callback (one indexed look-up); callers skip the
        call for a job without one (``row["callback_url"] is None``)."""
        return await self._repo.webhook_deliveries(row["id"])

    async def list(self, claims: TokenClaims, page: Page) -> dict[str, Any]:
        access = await self._repo.access(claims.organization_id, claims.user_id, [rbac.VIEW_JOBS])
        rbac.require(access, rbac.VIEW_JOBS)
        check_text(page.job_type, loc="jobType")
        if page.size > self._settings.max_page_size:
            raise InvalidInput(
                "pageSize too large",
                [{"loc": "pageSize", "message": f"must be at most {self._settings.max_page_size}"}],
            )
        total, rows = await self._repo.list_page(
            claims.organization_id,
            claims.user_id,
            status=page.status,
            job_type=page.job_type,
            limit=page.size,
            offset=(page.number - 1) * page.size,
            field_max_bytes=self._settings.list_field_max_bytes,
            id_prefix=page.id_prefix,
        )
        return present_page("jobs", [present_job(row, row["omitted"]) for row in rows], total, page.number, page.size)

    async def cancel(self, claims: TokenClaims, job_id: str) -> None:
        await self._transition(
            claims,
            job_id,
            rbac.CANCEL_JOBS,
            self._repo.cancel,
            "job can only be cancelled while queued, running or retrying",
        )

    async def retry(self, claims: TokenClaims, job_id: str) -> None:
        await self._transition(
            claims,
            job_id,
            rbac.RETRY_JOBS,
            self._repo.retry,
            "job can only be retried when failed and retryCount < maxRetries",
        )

    async def _transition(self, claims: TokenClaims, job_id: str, permission: str, apply, conflict: str) -> None:
        """A user's state change: permission, then one guarded update; 404 when the job is
        not the caller's, 409 when its state does not allow the change."""
        ident = parse_job_id(job_id)
        access = await self._repo.access(claims.organization_id, claims.user_id, [permission])
        rbac.require(access, permission)
        outcome = await apply(claims.organization_id, claims.user_id, ident)
        if not outcome.found:
            raise NotFound(JOB_NOT_FOUND)
        if not outcome.changed:
            raise Conflict(conflict)


def _validate_request(body: Any, settings: Settings) -> CreateJobRequest:
    try:
        return CreateJobRequest.model_validate(body, context={"policy": policy_from(settings)})
    except ValidationError as exc:
        raise InvalidInput("invalid request body", field_errors(exc)) from exc


def _future(when: dt.datetime | None) -> dt.datetime | None:
    if when is None:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    try:
        # In UTC, as stored: an offset can push year 9999 or year 1 out of range.
        when = when.astimezone(dt.UTC)
    except OverflowError:
        raise InvalidInput(
            "scheduledAt is out of range",
            [{"loc": "scheduledAt", "message": "must be between years 1 and 9999 in UTC"}],
        ) from None
    if when <= dt.datetime.now(dt.UTC):
        raise InvalidInput("scheduledAt is in the past", [{"loc": "scheduledAt", "message": "must be in the future"}])
    return when
