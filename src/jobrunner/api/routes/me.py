"""``GET /v1/me``: who the bearer token names and what they may do, so a page can hide
what the caller may not use (a viewer sees no start button). Public API, not page-only."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field
from starlette.responses import Response

from jobrunner.api.bodies import json_response
from jobrunner.api.deps import authenticate
from jobrunner.api.errors import problem_responses
from jobrunner.db.flow_repository import FlowRepository
from jobrunner.db.sql import Q
from jobrunner.domain.errors import AuthenticationError
from jobrunner.jobs.flow import present_paused
from jobrunner.jobs.flow_models import PausedJobType

router = APIRouter(prefix="/v1", tags=["me"])


class ActivityResponse(BaseModel):
    organizationRunning: int = Field(description="Jobs of the caller's organization running now.")
    organizationLimit: int = Field(description="How many of its jobs may run at once; the others wait.")
    pausedJobTypes: list[PausedJobType] = Field(
        description="Job types whose circuit breaker holds their jobs back now (docs/flow-control.md): "
        'a queued job of such a type waits for that reason ("paused: receiver failing").'
    )


class MeResponse(BaseModel):
    userId: str
    organizationId: str
    displayName: str
    permissions: list[str] = Field(description="Permission names, e.g. `jobs.create_jobs`.")


@router.get(
    "/me",
    operation_id="getMe",
    summary="The caller: user, organization and permissions",
    response_class=Response,
    responses={200: {"model": MeResponse, "description": "The caller"}, **problem_responses(401, 503)},
)
async def me(request: Request) -> Response:
    claims = await authenticate(request)
    row = await _member(request, claims.organization_id, claims.user_id)
    return json_response(
        {
            "userId": claims.user_id,
            "organizationId": claims.organization_id,
            "displayName": row["display_name"],
            "permissions": list(row["permissions"]),
        }
    )


async def _member(request: Request, organization_id: str, user_id: str) -> Any:
    row = await request.app.state.pool.fetchrow(Q.me_access, organization_id, user_id)
    if not row["is_member"]:
        raise AuthenticationError("unknown user or not a member of the token's organization")
    return row


@router.get(
    "/me/activity",
    operation_id="getMyActivity",
    summary="How busy the caller's organization is: jobs running against its limit",
    description="Why a queued job waits: when `organizationRunning` has reached `organizationLimit`, "
    "the organization's other jobs wait for one of these to finish; a job whose type is in `pausedJobTypes` "
    "waits for its circuit breaker.",
    response_class=Response,
    responses={200: {"model": ActivityResponse, "description": "Now"}, **problem_responses(401, 503)},
)
async def activity(request: Request) -> Response:
    claims = await authenticate(request)
    await _member(request, claims.organization_id, claims.user_id)
    row = await request.app.state.pool.fetchrow(
        Q.admin_queue_running, claims.organization_id, request.app.state.settings.org_concurrency_limit
    )
    paused = present_paused(await FlowRepository(request.app.state.pool).paused_types(claims.organization_id))
    return json_response(
        {"organizationRunning": row["running"], "organizationLimit": row["max_running"], "pausedJobTypes": paused}
    )
