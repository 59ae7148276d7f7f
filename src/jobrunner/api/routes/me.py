"""``GET /v1/me``: who the bearer token names and what they may do, so a page can hide
what the caller may not use (a viewer sees no start button). Public API, not page-only."""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field
from starlette.responses import Response

from jobrunner.api.bodies import json_response
from jobrunner.api.deps import authenticate
from jobrunner.api.errors import problem_responses
from jobrunner.db.sql import Q
from jobrunner.domain.errors import AuthenticationError

router = APIRouter(prefix="/v1", tags=["me"])


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
    row = await request.app.state.pool.fetchrow(Q.me_access, claims.organization_id, claims.user_id)
    if not row["is_member"]:
        raise AuthenticationError("unknown user or not a member of the token's organization")
    return json_response(
        {
            "userId": claims.user_id,
            "organizationId": claims.organization_id,
            "displayName": row["display_name"],
            "permissions": list(row["permissions"]),
        }
    )
