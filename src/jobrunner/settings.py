"""Every knob of jobrunner in one place, read from the environment (prefix ``JOBRUNNER_``).

``DATABASE_URL`` and ``PORT`` are read without the prefix, as hosting platforms set them.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from typing import Annotated, Literal

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="JOBRUNNER_", extra="ignore")

    database_url: str | None = Field(
        default=None, validation_alias=AliasChoices("DATABASE_URL", "JOBRUNNER_DATABASE_URL")
    )
    data_dir: Path = Path(".jobrunner")
    host: str = "127.0.0.1"
    port: int = Field(default=3000, validation_alias=AliasChoices("PORT", "JOBRUNNER_PORT"))

    jwt_secret: str | None = None
    token_ttl_seconds: int = 3600

    # Modules to import at start-up that declare job types and processors (comma-separated).
    imports: Annotated[list[str], NoDecode] = Field(default_factory=list)

    @field_validator("imports", mode="before")
    @classmethod
    def _split_imports(cls, value: object) -> object:
        if isinstance(value, str):
            return [name.strip() for name in value.split(",") if name.strip()]
        return value

    # HTTP
    max_body_bytes: int = 256 * 1024
    default_page_size: int = 25
    max_page_size: int = 100

    # Pool
    pool_min_size: int = 2
    pool_max_size: int = 10

    # Worker
    worker_concurrency: int = 50
    org_concurrency_limit: int = 5
    claim_batch_size: int = 100
    poll_interval_seconds: float = 1.0
    heartbeat_interval_seconds: float = 5.0
    lease_seconds: float = 30.0
    cancel_check_interval_seconds: float = 0.5
    progress_write_interval_seconds: float = 0.25
    shutdown_grace_seconds: float = 10.0
    retry_backoff_base_seconds: float = 2.0
    retry_backoff_cap_seconds: float = 300.0

    # The demo sign-in endpoints (/v1/demo/users, /v1/demo/token) exist only when the service
    # runs with demo data; `jobrunner run` turns this on.
    demo_mode: bool = False

    # Exports
    download_link_ttl_seconds: int = 900
    # How often each worker process deletes export files past retention.
    maintenance_interval_seconds: float = 3600.0
    export_retention_days: int = 7

    # Notifications: email over SMTP, webhooks to the organization's endpoint
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 25
    smtp_tls: Literal["none", "starttls", "tls"] = "none"
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_from: str = "jobrunner@localhost"
    smtp_timeout_seconds: float = 30.0
    webhook_timeout_seconds: float = 10.0

    # Uploads and imports (data_processing)
    upload_max_bytes: int = 200 * 1024 * 1024
    import_batch_size: int = 5000

    # Sync
    sync_batch_size: int = 500

    # --- Security: tokens, secrets, demo mode, metrics (docs/security.md) ---

    # --- Security: outbound requests and integration secrets (docs/security.md) ---

    # --- Security: quotas and payload limits (docs/security.md) ---

    # --- Security: imports and CPU-bound work (docs/security.md) ---

    # --- Resilience: database unavailability (docs/security.md) ---
    # Retry-After (seconds) on the API's 503 while the database is unavailable.
    unavailable_retry_after_seconds: int = Field(default=5, ge=1, le=3600)
    # One connection attempt that takes longer counts as "database unavailable".
    database_connect_timeout_seconds: float = Field(default=5.0, gt=0)
    # Backoff between reconnect attempts of workers, listeners and maintenance (worker/backoff.py).
    database_reconnect_base_seconds: float = Field(default=0.5, gt=0)
    database_reconnect_cap_seconds: float = Field(default=10.0, gt=0)


@lru_cache
def get_settings() -> Settings:
    return Settings()
