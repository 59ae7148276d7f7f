"""Configuring integrations through the API: admins only (``integrations.manage_integrations``);
the target URL is checked (``outbound/urls.py``: malformed, or a literal address the
outbound policy refuses, is a 422); the secret is stored sealed (``integrations/secrets.py``),
used for signing, never returned."""

from __future__ import annotations

from typing import Annotated, Any

import asyncpg
from pydantic import BaseModel, ConfigDict, Field, StrictStr, ValidationError, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from jobrunner.auth import rbac
from jobrunner.auth.tokens import TokenClaims
from jobrunner.db.jobs_repository import JobsRepository
from jobrunner.db.sql import Q
from jobrunner.domain.errors import InvalidInput, NotFound
from jobrunner.domain.schema import Timestamp
from jobrunner.domain.payloads import Name
from jobrunner.integrations.secrets import secret_box
from jobrunner.domain.field_errors import field_errors
from jobrunner.timestamps import iso_utc
from jobrunner.outbound.client import policy_from
from jobrunner.outbound.policy import DestinationPolicy
from jobrunner.outbound.urls import MAX_URL_LENGTH, BadURL, check_target_url
from jobrunner.settings import Settings

MANAGE_INTEGRATIONS = "integrations.manage_integrations"


class IntegrationRequest(BaseModel):
    """The body of ``PUT /v1/integrations/{name}``."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"targetUrl": "https://crm.example.com/hooks/jobrunner", "secret": "a-long-random-shared-secret"}
            ]
        },
    )

    targetUrl: Annotated[
        StrictStr,
        Field(
            max_length=MAX_URL_LENGTH,
            description="Where signed POSTs go: an http or https URL without credentials; loopback, private, "
            "link-local, multicast and reserved addresses are refused (docs/security.md).",
        ),
    ]
    secret: Annotated[
        StrictStr, Field(min_length=16, max_length=256, description="Signs every POST (HMAC-SHA256); never returned.")
    ]

    @field_validator("targetUrl")
    @classmethod
    def _check_url(cls, value: str, info: ValidationInfo) -> str:
        policy = (info.context or {}).get("policy", DestinationPolicy())
        try:
            return check_target_url(value, policy)
        except BadURL as exc:
            raise PydanticCustomError("target_url", "the target URL {reason}", {"reason": str(exc)}) from None

    @field_validator("secret")
    @classmethod
    def _check_secret(cls, value: str) -> str:
        if any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F for c in value):
            raise PydanticCustomError("secret", "the secret must not contain control characters")
        return value


class IntegrationResponse(BaseModel):
    name: str
    targetUrl: str
    hasSecret: bool = Field(description="Always true: the secret is stored but never returned.")
    createdAt: Timestamp
    updatedAt: Timestamp


class IntegrationService:
    def __init__(self, pool: asyncpg.Pool, settings: Settings) -> None:
        self._pool = pool
        self._access = JobsRepository(pool)
        self._settings = settings

    async def _require_admin(self, claims: TokenClaims) -> None:
        access = await self._access.access(claims.organization_id, claims.user_id, [MANAGE_INTEGRATIONS])
        rbac.require(access, MANAGE_INTEGRATIONS)

    async def put(self, claims: TokenClaims, name: str, body: Any) -> tuple[dict[str, Any], bool]:
        await self._require_admin(claims)
        checked_name = _valid_name(name)
        try:
            request = IntegrationRequest.model_validate(body, context={"policy": policy_from(self._settings)})
        except ValidationError as exc:
            raise InvalidInput("invalid integration", field_errors(exc.errors())) from exc
        row = await self._pool.fetchrow(
            Q.put_integration,
            claims.organization_id,
            checked_name,
            request.targetUrl,
            secret_box(self._settings).seal(request.secret),
            claims.user_id,
        )
        return _present(row), row["created"]

    async def get(self, claims: TokenClaims, name: str) -> dict[str, Any]:
        await self._require_admin(claims)
        row = await self._pool.fetchrow(Q.get_integration_public, claims.organization_id, name[:100])
        if row is None:
            raise NotFound("integration not found")
        return _present(row)


class _NameCheck(BaseModel):
    name: Name


def _valid_name(name: str) -> str:
    try:
        return _NameCheck(name=name).name
    except ValidationError as exc:
        raise InvalidInput("invalid integration name", field_errors(exc.errors())) from exc


def _present(row: Any) -> dict[str, Any]:
    return {
        "name": row["name"],
        "targetUrl": row["target_url"],
        "hasSecret": True,
        "createdAt": iso_utc(row["created_at"]),
        "updatedAt": iso_utc(row["updated_at"]),
    }
