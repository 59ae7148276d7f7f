"""What a process needs before it can start: the database URL (embedded by default), the
JWT secret (generated into the data folder when none is configured, refused when shorter
than 32 bytes) and whether demo sign-in is on."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path

from jobrunner.auth.tokens import check_secret
from jobrunner.db.embedded import resolve_database_url
from jobrunner.settings import Settings

SECRET_FILE = "jwt-secret"


@dataclass(frozen=True)
class Runtime:
    settings: Settings
    database_url: str
    jwt_secret: str
    secret_generated: bool = False
    # Why demo mode is on or off, in a few words (for the start-up line).
    demo_reason: str = ""


def resolve_jwt_secret(settings: Settings) -> tuple[str, bool]:
    """The configured secret, or one kept in ``data_dir/jwt-secret`` (created on first use).
    Returns the secret and whether it was generated just now. ConfigurationError when the
    secret is shorter than 32 bytes."""
    if settings.jwt_secret:
        check_secret(settings.jwt_secret, "JOBRUNNER_JWT_SECRET")
        return settings.jwt_secret, False
    path = Path(settings.data_dir) / SECRET_FILE
    if path.exists():
        secret = path.read_text().strip()
        check_secret(secret, f"the JWT secret in {path}")
        return secret, False
    path.parent.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(48)
    path.write_text(secret + "\n")
    path.chmod(0o600)
    return secret, True


def resolve_demo_mode(settings: Settings, flag: bool | None = None) -> tuple[bool, str]:
    """Demo sign-in: the ``--demo``/``--no-demo`` flag, else JOBRUNNER_DEMO_MODE, else on
    only with the embedded database. Returns the decision and why."""
    if flag is not None:
        return flag, "--demo" if flag else "--no-demo"
    if settings.demo_mode is not None:
        return settings.demo_mode, f"JOBRUNNER_DEMO_MODE={'true' if settings.demo_mode else 'false'}"
    if settings.database_url is None:
        return True, "embedded database"
    return False, "DATABASE_URL is set; --demo turns it on"


def load_runtime(settings: Settings, *, demo: bool | None = None) -> Runtime:
    secret, generated = resolve_jwt_secret(settings)
    if settings.metrics_token is not None:
        check_secret(settings.metrics_token, "JOBRUNNER_METRICS_TOKEN")
    demo_mode, reason = resolve_demo_mode(settings, demo)
    url = resolve_database_url(settings.database_url, Path(settings.data_dir))
    return Runtime(
        # The resolved secret in the settings too: workers sign the links their jobs send
        # (an export's download link in a notification, processors/dependencies.py).
        settings=settings.model_copy(update={"demo_mode": demo_mode, "jwt_secret": secret}),
        database_url=url,
        jwt_secret=secret,
        secret_generated=generated,
        demo_reason=reason,
    )
