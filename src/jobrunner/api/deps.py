"""Request dependencies: who is calling (the bearer token) and the jobs service."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from jobrunner.auth.tokens import TokenClaims, decode_token
from jobrunner.domain.errors import AuthenticationError
from jobrunner.jobs.service import JobService


async def authenticate(request: Request) -> TokenClaims:
    """The token's claims; membership and permissions are checked against the database
    by the service (in the same round trip as the work, where it matters)."""
    header = request.headers.get("authorization")
    if not header:
        raise AuthenticationError("missing bearer token")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthenticationError("authorization header must be 'Bearer <token>'")
    return decode_token(request.app.state.jwt_secret, token.strip())


async def jobs_service(request: Request) -> JobService:
    return request.app.state.jobs


Caller = Annotated[TokenClaims, Depends(authenticate)]
Jobs = Annotated[JobService, Depends(jobs_service)]
