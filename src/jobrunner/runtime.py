"""What a process needs before it can start: the database URL (embedded by default) and
the JWT secret (generated into the data folder when none is configured)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path

from jobrunner.db.embedded import resolve_database_url
from jobrunner.settings import Settings

SECRET_FILE = "jwt-secret"


@dataclass(frozen=True)
class Runtime:
    settings: Settings
    database_url: str
    jwt_secret: str
    secret_generated: bool = False


def resolve_jwt_secret(settings: Settings) -> tuple[str, bool]:
    """The configured secret, or one kept in ``data_dir/jwt-secret`` (created on first use).
    Returns the secret and whether it was generated just now."""
    if settings.jwt_secret:
        return settings.jwt_secret, False
    path = Path(settings.data_dir) / SECRET_FILE
    if path.exists():
        return path.read_text().strip(), False
    path.parent.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(48)
    path.write_text(secret + "\n")
    path.chmod(0o600)
    return secret, True


def load_runtime(settings: Settings) -> Runtime:
    secret, generated = resolve_jwt_secret(settings)
    url = resolve_database_url(settings.database_url, Path(settings.data_dir))
    return Runtime(settings=settings, database_url=url, jwt_secret=secret, secret_generated=generated)
