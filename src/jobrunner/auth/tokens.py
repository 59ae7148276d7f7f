"""Bearer tokens: JWT, HS256 only, with ``sub`` (user id), ``org`` (organization id) and a
required integer ``exp`` no further away than the maximum lifetime (from now, and from
``iat`` when the token has one). Anything else (another key, ``alg: none``, expired, a
lifetime over the maximum, missing or mistyped claims) is an AuthenticationError.

Secrets shorter than ``MIN_SECRET_BYTES`` are refused (``check_secret``)."""

from __future__ import annotations

import time
from dataclasses import dataclass

import jwt

from jobrunner.domain.errors import AuthenticationError, ConfigurationError, InvalidInput

ALGORITHM = "HS256"
# RFC 7518 section 3.2: an HS256 key must be at least as long as the hash output.
MIN_SECRET_BYTES = 32
_MAX_TOKEN_LENGTH = 4096


@dataclass(frozen=True, slots=True)
class TokenClaims:
    user_id: str
    organization_id: str
    expires_at: int


def check_secret(secret: str, what: str = "the JWT secret") -> None:
    """ConfigurationError when ``secret`` is too short to sign tokens or links with."""
    if len(secret.encode()) < MIN_SECRET_BYTES:
        raise ConfigurationError(
            f"{what} must be at least {MIN_SECRET_BYTES} bytes long "
            f"(it has {len(secret.encode())}); unset it to have one generated"
        )


def check_ttl(ttl_seconds: int, max_ttl_seconds: int) -> None:
    """InvalidInput for a lifetime that is not positive or is over the maximum."""
    if not 0 < ttl_seconds <= max_ttl_seconds:
        raise InvalidInput(
            f"a token's lifetime must be between 1 and {max_ttl_seconds} seconds "
            f"(JOBRUNNER_MAX_TOKEN_TTL_SECONDS), not {ttl_seconds}"
        )


def issue_token(secret: str, user_id: str, organization_id: str, ttl_seconds: int = 3600) -> str:
    now = int(time.time())
    claims = {"sub": user_id, "org": organization_id, "iat": now, "exp": now + int(ttl_seconds)}
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def decode_token(secret: str, token: str, *, max_ttl_seconds: int, now: float | None = None) -> TokenClaims:
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
    expires_at = _lifetime_checked(claims, max_ttl_seconds, int(time.time() if now is None else now))
    return TokenClaims(user_id=sub, organization_id=org, expires_at=expires_at)


def _lifetime_checked(claims: dict, max_ttl_seconds: int, now: int) -> int:
    """``exp`` when it is an integer at most ``max_ttl_seconds`` away from now and from
    ``iat`` (when present, also an integer). Integer arithmetic only: a huge ``exp`` is
    refused, never an overflow."""
    exp, iat = claims["exp"], claims.get("iat")
    if not _is_int(exp) or (iat is not None and not _is_int(iat)):
        raise AuthenticationError("invalid token claims: exp and iat must be integers")
    if exp - now > max_ttl_seconds or (iat is not None and exp - iat > max_ttl_seconds):
        raise AuthenticationError(f"token lifetime over the maximum of {max_ttl_seconds} seconds")
    return exp


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
