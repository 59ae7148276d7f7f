"""The organization's completion-webhook settings through the API (``/v1/settings/webhook``,
admins only: ``integrations.manage_integrations``): the default callback URL for jobs
created without one, the signing secret (shown to admins: receivers need it to verify),
and its rotation (the previous secret keeps signing for
``JOBRUNNER_CALLBACK_SECRET_OVERLAP_SECONDS``)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import asyncpg
from pydantic import BaseModel, ConfigDict, Field, StrictStr, ValidationError, ValidationInfo, field_validator

from jobrunner.auth import rbac
from jobrunner.auth.tokens import TokenClaims
from jobrunner.db.errors import DRIVER_ERRORS, translate
from jobrunner.db.jobs_repository import JobsRepository
from jobrunner.db.sql import Q
from jobrunner.domain.errors import InvalidInput
from jobrunner.domain.field_errors import field_errors
from jobrunner.domain.schema import Timestamp
from jobrunner.integrations.secrets import secret_box
from jobrunner.jobs.models import CALLBACK_URL_DESCRIPTION, checked_callback_url
from jobrunner.outbound.client import policy_from
from jobrunner.outbound.urls import MAX_URL_LENGTH
from jobrunner.settings import Settings
from jobrunner.timestamps import iso_utc
from jobrunner.webhooks.keys import OrganizationWebhook, ensure_webhook, open_webhook
from jobrunner.webhooks.signing import new_secret

MANAGE_WEBHOOKS = "integrations.manage_integrations"


class WebhookSettingsRequest(BaseModel):
    """The body of ``PUT /v1/settings/webhook``."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"callbackUrl": "https://backend.example.com/hooks/jobs"}]},
    )

    callbackUrl: Annotated[
        StrictStr | None,
        Field(
            max_length=MAX_URL_LENGTH,
            description="The default callback URL of jobs created without one (null: none): "
            + CALLBACK_URL_DESCRIPTION.split(": ", 1)[1],
        ),
    ]

    @field_validator("callbackUrl")
    @classmethod
    def _check_url(cls, value: str | None, info: ValidationInfo) -> str | None:
        return None if value is None else checked_callback_url(value, info)


class WebhookSettingsResponse(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "callbackUrl": "https://backend.example.com/hooks/jobs",
                    "signingSecret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
                    "previousSecretExpiresAt": None,
                    "secretRotatedAt": "2024-01-30T10:30:00.000Z",
                    "updatedAt": "2024-01-30T10:30:00.000Z",
                }
            ]
        }
    )

    callbackUrl: str | None = Field(description="The default callback URL of new jobs; null: none.")
    signingSecret: str = Field(description="Signs every webhook (`whsec_` and base64): give it to the receiver.")
    previousSecretExpiresAt: Timestamp | None = Field(
        description="After a rotation, the previous secret signs too (a second `v1,` signature) until then; "
        "null when no previous secret signs any more."
    )
    secretRotatedAt: Timestamp = Field(description="When the current secret was made.")
    updatedAt: Timestamp


class WebhookSettingsService:
    def __init__(self, pool: asyncpg.Pool, settings: Settings) -> None:
        self._pool = pool
        self._access = JobsRepository(pool)
        self._settings = settings
        self._box = secret_box(settings)

    async def _require_admin(self, claims: TokenClaims) -> None:
        access = await self._access.access(claims.organization_id, claims.user_id, [MANAGE_WEBHOOKS])
        rbac.require(access, MANAGE_WEBHOOKS)

    async def get(self, claims: TokenClaims) -> dict[str, Any]:
        await self._require_admin(claims)
        return await self._present(await self._call(ensure_webhook(self._pool, self._box, claims.organization_id)))

    async def put(self, claims: TokenClaims, body: Any) -> dict[str, Any]:
        await self._require_admin(claims)
        try:
            request = WebhookSettingsRequest.model_validate(body, context={"policy": policy_from(self._settings)})
        except ValidationError as exc:
            raise InvalidInput("invalid webhook settings", field_errors(exc.errors())) from exc
        row = await self._call(
            self._pool.fetchrow(
                Q.put_organization_webhook,
                claims.organization_id,
                request.callbackUrl,
                self._box.seal(new_secret()),
                claims.user_id,
            )
        )
        return await self._present(row)

    async def rotate(self, claims: TokenClaims) -> dict[str, Any]:
        await self._require_admin(claims)
        row = await self._call(
            self._pool.fetchrow(
                Q.rotate_organization_webhook_secret,
                claims.organization_id,
                self._box.seal(new_secret()),
                float(self._settings.callback_secret_overlap_seconds),
                claims.user_id,
            )
        )
        return await self._present(row)

    async def _call(self, awaitable: Any) -> Any:
        try:
            return await awaitable
        except DRIVER_ERRORS as exc:
            raise translate(exc) from exc

    async def _present(self, row: Any) -> dict[str, Any]:
        hook: OrganizationWebhook = await self._call(open_webhook(self._pool, self._box, row))
        now = dt.datetime.now(dt.UTC)
        overlapping = hook.previous_secret is not None and len(hook.signing_secrets(now)) > 1
        return {
            "callbackUrl": hook.callback_url,
            "signingSecret": hook.secret,
            "previousSecretExpiresAt": iso_utc(hook.previous_secret_expires_at) if overlapping else None,
            "secretRotatedAt": iso_utc(hook.secret_rotated_at),
            "updatedAt": iso_utc(hook.updated_at),
        }
