"""Job templates' rules: any member of the organization may read its templates; creating,
changing and deleting one needs ``templates.manage_templates`` (admins) and the job type's
own creation permission (nobody saves a configuration they could not run). The job type
and payload are checked exactly as ``POST /v1/jobs`` checks them (``jobs/validation.py``).
Another organization's template is a 404, like a missing one."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from jobrunner.auth import rbac
from jobrunner.auth.tokens import TokenClaims
from jobrunner.db.jobs_repository import JobsRepository
from jobrunner.db.templates_repository import TemplateFields, TemplatesRepository
from jobrunner.domain.errors import InvalidInput, NotFound
from jobrunner.jobs.presenters import present_page
from jobrunner.jobs.models import field_errors
from jobrunner.jobs.service import TEMPLATE_NOT_FOUND
from jobrunner.jobs.template_models import TemplatePatch, TemplateRequest
from jobrunner.jobs.validation import creation_permissions, known_job_type, validated_payload
from jobrunner.settings import Settings
from jobrunner.timestamps import iso_utc

MANAGE_TEMPLATES = "templates.manage_templates"
M = TypeVar("M", bound=BaseModel)


def parse_template_id(text: str) -> uuid.UUID:
    """A template id that is not a UUID names no template: 404."""
    if len(text) > 64:
        raise NotFound(TEMPLATE_NOT_FOUND)
    try:
        return uuid.UUID(text)
    except ValueError:
        raise NotFound(TEMPLATE_NOT_FOUND) from None


class TemplateService:
    def __init__(self, templates: TemplatesRepository, access: JobsRepository, settings: Settings) -> None:
        self._templates = templates
        self._access = access
        self._settings = settings

    async def create(self, claims: TokenClaims, body: Any) -> dict[str, Any]:
        access = await self._manager(claims)
        request = _parse(TemplateRequest, body)
        fields = self._checked(
            access,
            TemplateFields(request.name, request.jobType, request.payload, request.priority, request.maxRetries or 0),
            default_retries="maxRetries" not in request.model_fields_set,
        )
        return present_template(await self._templates.insert(claims.organization_id, claims.user_id, fields))

    async def list(self, claims: TokenClaims, page: int, size: int) -> dict[str, Any]:
        await self._member(claims)
        total, rows = await self._templates.page(claims.organization_id, size, (page - 1) * size)
        return present_page("templates", [present_template(row) for row in rows], total, page, size)

    async def get(self, claims: TokenClaims, template_id: str) -> dict[str, Any]:
        await self._member(claims)
        return present_template(await self._existing(claims, parse_template_id(template_id)))

    async def update(self, claims: TokenClaims, template_id: str, body: Any) -> dict[str, Any]:
        access = await self._manager(claims)
        ident = parse_template_id(template_id)
        patch = _parse(TemplatePatch, body)
        sent = sorted(patch.model_fields_set)
        if not sent:
            raise InvalidInput("nothing to change", [{"loc": "body", "message": "send at least one field"}])
        current = await self._existing(claims, ident)
        values = patch.model_dump(include=set(sent))
        fields = self._checked(
            access,
            TemplateFields(
                name=values.get("name", current["name"]),
                job_type=values.get("jobType", current["job_type"]),
                payload=values.get("payload", current["payload"]),
                priority=values.get("priority", current["priority"]),
                max_retries=values.get("maxRetries", current["max_retries"]),
            ),
            default_retries=False,
        )
        row = await self._templates.update(claims.organization_id, claims.user_id, ident, fields, sent)
        if row is None:
            raise NotFound(TEMPLATE_NOT_FOUND)
        return present_template(row)

    async def delete(self, claims: TokenClaims, template_id: str) -> None:
        await self._manager(claims)
        if not await self._templates.delete(claims.organization_id, claims.user_id, parse_template_id(template_id)):
            raise NotFound(TEMPLATE_NOT_FOUND)

    async def _member(self, claims: TokenClaims) -> None:
        rbac.require(await self._access.access(claims.organization_id, claims.user_id, []))

    async def _manager(self, claims: TokenClaims) -> rbac.Access:
        needed = [MANAGE_TEMPLATES, *creation_permissions()]
        access = await self._access.access(claims.organization_id, claims.user_id, needed)
        rbac.require(access, MANAGE_TEMPLATES)
        return access

    async def _existing(self, claims: TokenClaims, ident: uuid.UUID) -> Mapping[str, Any]:
        row = await self._templates.get(claims.organization_id, ident)
        if row is None:
            raise NotFound(TEMPLATE_NOT_FOUND)
        return row

    def _checked(self, access: rbac.Access, fields: TemplateFields, *, default_retries: bool) -> TemplateFields:
        """The fields as stored: a known job type the caller may create, its payload
        validated; ``default_retries``: maxRetries not given, the job type's applies."""
        job_type = known_job_type(fields.job_type)
        rbac.require(access, job_type.permission)
        return TemplateFields(
            name=fields.name,
            job_type=job_type.name,
            payload=validated_payload(job_type, fields.payload, self._settings),
            priority=fields.priority,
            max_retries=job_type.retry.max_retries if default_retries else fields.max_retries,
        )


def _parse(model: type[M], body: Any) -> M:
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        raise InvalidInput("invalid template", field_errors(exc)) from exc


def present_template(row: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "id": str(row["id"]),
        "organizationId": row["organization_id"],
        "name": row["name"],
        "jobType": row["job_type"],
        "payload": row["payload"],
        "priority": row["priority"],
        "maxRetries": row["max_retries"],
        "createdBy": row["created_by"],
        "createdAt": iso_utc(row["created_at"]),
        "updatedAt": iso_utc(row["updated_at"]),
    }
