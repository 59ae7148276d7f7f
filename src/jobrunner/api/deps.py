"""Request dependencies: who is calling (the bearer token), the jobs service, and the
job id path parameter."""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import Depends, Path, Request

from jobrunner.api.request_ids import CALLER_SCOPE_KEY
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
    claims: TokenClaims = request.app.state.token_cache.decode(token.strip())
    request.scope[CALLER_SCOPE_KEY] = claims  # for the request's log line
    return claims


class TokenCache:
    """Verified tokens, so that a frontend polling every few seconds does not pay for JWT
    verification each time. Only signature checks are cached (a token's claims cannot
    change); expiry is checked on every use, and membership and permissions are always
    read from the database."""

    def __init__(self, secret: str, max_ttl_seconds: int, max_entries: int = 10_000) -> None:
        self._secret = secret
        self._max_ttl_seconds = max_ttl_seconds
        self._max_entries = max_entries
        self._claims: dict[str, TokenClaims] = {}

    def decode(self, token: str) -> TokenClaims:
        claims = self._claims.get(token)
        if claims is not None and claims.expires_at > time.time():
            return claims
        self._claims.pop(token, None)
        claims = decode_token(self._secret, token, max_ttl_seconds=self._max_ttl_seconds)
        if len(self._claims) >= self._max_entries:
            self._claims.clear()
        self._claims[token] = claims
        return claims


async def jobs_service(request: Request) -> JobService:
    return request.app.state.jobs


Caller = Annotated[TokenClaims, Depends(authenticate)]
Jobs = Annotated[JobService, Depends(jobs_service)]

JOB_ID_DESCRIPTION = "The job's id (a UUID; anything else is a 404)."
JobId = Annotated[str, Path(description=JOB_ID_DESCRIPTION, json_schema_extra={"format": "uuid"})]
"""A job id in a path: a UUID in the document, read as text (not a UUID: 404, not 422)."""
