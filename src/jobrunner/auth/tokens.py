"""Bearer tokens: JWT, HS256 only, with ``sub`` (user id), ``org`` (organization id) and a
required ``exp``. Anything else (another key, ``alg: none``, expired, missing claims) is an
AuthenticationError."""

from __future__ import annotations

import time
from dataclasses import dataclass

import jwt

from jobrunner.domain.errors import AuthenticationError

ALGORITHM = "HS256"
_MAX_TOKEN_LENGTH = 4096


@dataclass(frozen=True, slots=True)
class TokenClaims:
    user_id: str
    organization_id: str
    expires_at: int


def issue_token(secret: str, user_id: str, organization_id: str, ttl_seconds: int = 3600) -> str:
    now = int(time.time())
    claims = {"sub": user_id, "org": organization_id, "iat": now, "exp": now + int(ttl_seconds)}
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def decode_token(secret: str, token: str) -> TokenClaims:
    if not token or len(token) > _MAX_TOKEN_LENGTH:
        raise AuthenticationError("malformed bearer token")
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            options={"require": ["sub", "org", "exp"]},
        )
    except jwt.ExpiredSignatureError as exc:
        raise AuthenticationError("token expired") from exc
    except jwt.InvalidTokenError as exc:
        raise AuthenticationError("invalid token") from exc
    sub, org = claims.get("sub"), claims.get("org")
    if not isinstance(sub, str) or not isinstance(org, str) or not sub or not org:
        raise AuthenticationError("invalid token claims")
    if len(sub) > 64 or len(org) > 64:
        raise AuthenticationError("invalid token claims")
    return TokenClaims(user_id=sub, organization_id=org, expires_at=int(claims["exp"]))
