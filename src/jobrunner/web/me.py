"""``GET /v1/me``: who the bearer token names and what they may do, so a page can hide
what the caller may not use (a viewer sees no start button). Public API, not page-only."""

from __future__ import annotations

from fastapi import APIRouter, Request

from jobrunner.auth.tokens import TokenClaims, decode_token
from jobrunner.db.sql import Q
from jobrunner.domain.errors import AuthenticationError

router = APIRouter(prefix="/v1", tags=["me"])


def bearer_claims(request: Request) -> TokenClaims:
    scheme, _, token = (request.headers.get("authorization") or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthenticationError("missing bearer token")
    return decode_token(request.app.state.jwt_secret, token.strip())


@router.get("/me", summary="The caller: user, organization and permissions")
async def me(request: Request) -> dict:
    claims = bearer_claims(request)
    row = await request.app.state.pool.fetchrow(Q.me_access, claims.organization_id, claims.user_id)
    if not row["is_member"]:
        raise AuthenticationError("unknown user or not a member of the token's organization")
    return {
        "userId": claims.user_id,
        "organizationId": claims.organization_id,
        "displayName": row["display_name"],
        "permissions": list(row["permissions"]),
    }
