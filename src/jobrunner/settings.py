"""Every knob of jobrunner in one place, read from the environment (prefix ``JOBRUNNER_``).

``DATABASE_URL`` and ``PORT`` are read without the prefix, as hosting platforms set them.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from typing import Annotated, Literal

from pydantic import AliasChoices, Field, ValidationError, field_validator
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

    # --- Deployment: PgBouncer, object storage (docs/deployment.md) ---
    # "transaction": DATABASE_URL goes through a pooler in transaction mode (PgBouncer):
    # no prepared-statement cache, no LISTEN and no session state on its connections.
    database_pooler: Literal["none", "transaction"] = "none"
    # A connection straight to PostgreSQL for LISTEN when DATABASE_URL is pooled; unset
    # there, workers poll every JOBRUNNER_POLL_INTERVAL_SECONDS instead.
    direct_database_url: str | None = None
    # Where files live: unset, DATA_DIR on local disk; "s3://bucket/prefix" an
    # S3-compatible object store (endpoint and credentials from the AWS_* variables).
    storage_url: str | None = None
    # Multipart upload part size (S3's minimum is 5 MiB); memory per file being written
    # is about two parts.
    storage_part_bytes: int = Field(default=8 * 1024 * 1024, ge=5 * 1024 * 1024, le=5 * 1024**3)
    # > 0: downloads answer 307 to a presigned URL of the object store valid this long
    # (after jobrunner's own link checks); 0: jobrunner streams the file itself.
    storage_redirect_seconds: int = Field(default=0, ge=0, le=7 * 24 * 3600)
    # Writes begun longer ago and never finished (a process killed mid-upload) are
    # removed by maintenance and cleanup: incomplete multipart uploads, temporary files.
    storage_abandoned_after_seconds: int = Field(default=6 * 3600, ge=0)

    @property
    def database_pooled(self) -> bool:
        """DATABASE_URL goes through a transaction-mode pooler."""
        return self.database_pooler == "transaction"

    @field_validator("storage_url")
    @classmethod
    def _check_storage_url(cls, value: str | None) -> str | None:
        if value:
            from urllib.parse import urlsplit

            parts = urlsplit(value)
            if parts.scheme != "s3" or not parts.netloc:
                raise ValueError("JOBRUNNER_STORAGE_URL must look like s3://bucket or s3://bucket/prefix")
        return value or None

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
    # How often each worker looks for jobs of gone workers (a SIGKILLed worker's session
    # lock is free at once: its jobs are rescued within this; a hung one waits for the lease).
    rescue_interval_seconds: float = Field(default=1.0, gt=0)

    # Exports
    download_link_ttl_seconds: int = 900
    # How often each worker process deletes export files past retention.
    maintenance_interval_seconds: float = 3600.0
    export_retention_days: int = 7
    # Finished jobs completed longer ago than this are deleted (in batches, by the same
    # maintenance); 0 keeps them forever. Each organization's `cleanup` job may delete sooner.
    job_retention_days: int = Field(default=30, ge=0)
    # An Idempotency-Key's stored answer on POST /v1/jobs is replayed for this long (24 h,
    # as Stripe's); older keys are free again and deleted by the same maintenance.
    idempotency_key_ttl_seconds: int = Field(default=24 * 3600, gt=0)

    # Recurring schedules (docs/workflows.md): every worker process runs the scheduler.
    scheduler_enabled: bool = True
    # How often each worker process's scheduler looks for due schedules.
    scheduler_interval_seconds: float = Field(default=1.0, gt=0)
    # A fire time further in the past than this was missed (no worker was running): the
    # schedule's misfire policy applies (run once, or skip). Closer, it simply fires.
    schedule_misfire_grace_seconds: float = Field(default=60.0, ge=0)
    # Whether cron expressions may have a sixth, leading seconds field (firing every second).
    schedule_allow_seconds: bool = False

    # Notifications: email over SMTP, webhooks to the organization's endpoint
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 25
    smtp_tls: Literal["none", "starttls", "tls"] = "none"
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_from: str = "jobrunner@localhost"
    smtp_timeout_seconds: float = 30.0
    webhook_timeout_seconds: float = 10.0
    # Where users reach the service (links in emails); default http://<host>:<port>.
    public_url: str | None = Field(default=None, pattern=r"^https?://[^\s/?#]+(/[^\s?#]*)?$")
    # How long an export link in a notification (a dependency's downloadUrl) works.
    notification_link_ttl_seconds: int = Field(default=86400, ge=60, le=30 * 86400)

    # Completion webhooks (docs/webhooks.md): the delivery loop of every worker process.
    # Deadline for one delivery attempt (connect, send, answer).
    callback_timeout_seconds: float = Field(default=10.0, gt=0, le=300)
    # Attempts per delivery, the first included; then it is recorded as failed.
    callback_max_attempts: int = Field(default=12, ge=1, le=50)
    # Backoff between attempts (jobrunner.backoff: base * 2**n, capped, equal jitter).
    callback_retry_base_seconds: float = Field(default=5.0, gt=0)
    callback_retry_cap_seconds: float = Field(default=3600.0, gt=0)
    # How often an idle delivery loop looks for due deliveries (a final state wakes it at once).
    callback_poll_interval_seconds: float = Field(default=1.0, gt=0)
    # Deliveries one worker process sends at once.
    callback_concurrency: int = Field(default=10, ge=1, le=200)
    # After a secret rotation, the previous secret keeps signing (a second signature) this long.
    callback_secret_overlap_seconds: int = Field(default=24 * 3600, ge=0, le=30 * 24 * 3600)

    # Uploads and imports (data_processing)
    upload_max_bytes: int = 200 * 1024 * 1024
    import_batch_size: int = 5000

    # Sync
    sync_batch_size: int = 500

    # --- Security: tokens, secrets, demo mode, metrics (docs/security.md) ---
    # A bearer token whose exp lies further than this from now (or from its iat) is refused;
    # also the longest `jobrunner token --ttl` and demo token.
    max_token_ttl_seconds: int = Field(default=24 * 3600, gt=0)
    # The demo sign-in endpoints (/v1/demo/users, /v1/demo/token: an admin token for anyone
    # who can reach the port). Unset: on only with the embedded database (no DATABASE_URL);
    # `--demo`/`--no-demo` on `run` and `serve` decide over it (see runtime.py).
    demo_mode: bool | None = None
    # GET /metrics needs `Authorization: Bearer <this>`; unset, /metrics answers 404.
    metrics_token: str | None = None

    # --- Observability: logs and metrics (docs/operations.md) ---
    # Lines below this level are not written: debug, info, warning, error.
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    # json: one JSON object a line; console: readable; auto: console on a terminal, else json.
    log_format: Literal["auto", "json", "console"] = "auto"
    # How often the API reads the cluster-wide job and worker figures it serves at /metrics.
    metrics_snapshot_interval_seconds: float = Field(default=15.0, gt=0)
    # `jobrunner worker` serves its own /metrics on this port (unset: none); --metrics-port.
    worker_metrics_port: int | None = Field(default=None, ge=1, le=65535)

    @field_validator("log_level", "log_format", mode="before")
    @classmethod
    def _lower(cls, value: object) -> object:
        return value.lower() if isinstance(value, str) else value

    # --- Security: outbound requests and integration secrets (docs/security.md) ---
    # Networks outbound requests may reach although they are loopback, private, link-local,
    # multicast or reserved (comma-separated CIDRs, e.g. "127.0.0.0/8,::1/128"); none by default.
    outbound_allowed_networks: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # At most this many bytes of a receiver's answer are read.
    outbound_max_response_bytes: int = 64 * 1024
    # Fernet keys (comma-separated, first one encrypts) for integration secrets at rest;
    # unset: one key generated into data_dir/secrets-key.
    secrets_key: str | None = None

    @field_validator("outbound_allowed_networks", mode="before")
    @classmethod
    def _split_networks(cls, value: object) -> object:
        if isinstance(value, str):
            value = [item.strip() for item in value.split(",") if item.strip()]
        if isinstance(value, list):
            import ipaddress

            return [str(ipaddress.ip_network(item, strict=False)) for item in value]
        return value

    @field_validator("secrets_key")
    @classmethod
    def _check_secrets_key(cls, value: str | None) -> str | None:
        if value:
            from cryptography.fernet import Fernet

            for key in value.split(","):
                try:
                    Fernet(key.strip())
                except ValueError:
                    raise ValueError(
                        "JOBRUNNER_SECRETS_KEY must be url-safe base64 Fernet keys (32 bytes each), comma-separated"
                    ) from None
        return value or None

    # --- Security: quotas and payload limits (docs/security.md) ---
    # A job's payload: nesting depth and size (compact JSON bytes), checked at creation.
    payload_max_depth: int = Field(default=32, ge=1, le=200)
    payload_max_bytes: int = Field(default=64 * 1024, ge=1)
    # In list answers, a payload or result whose JSON text is longer than this is null
    # (named in the item's `omitted`); the status endpoint has it in full.
    list_field_max_bytes: int = Field(default=4096, ge=0)
    # Per-organization quotas (0 = no job/upload accepted; override per organization in
    # the organization_limits table, NULL there = these).
    quota_max_queued_jobs: int = Field(default=1000, ge=0)
    quota_max_creations_per_minute: int = Field(default=600, ge=0)
    quota_max_upload_bytes: int = Field(default=5 * 1024**3, ge=0)

    # --- Security: imports and CPU-bound work (docs/security.md) ---
    # An import of a file beyond these fails (permanently, saying which limit): columns of
    # the header and fields of any record; characters of one line, or of one record whose
    # quoted values hold line breaks (at most the CSV reader's own 1 MiB cap).
    import_max_columns: int = Field(default=100, ge=1)
    import_max_line_chars: int = Field(default=16_384, ge=256, le=1 << 20)

    # --- Push: server-sent events of job changes (docs/push.md) ---
    # An open stream with nothing to send writes a heartbeat comment this often; each
    # heartbeat the API also re-checks that every stream's owner may still see their jobs.
    sse_heartbeat_seconds: float = Field(default=15.0, gt=0, le=3600)
    # A job whose status did not change is sent at most once this often (progress coalesced).
    sse_progress_interval_seconds: float = Field(default=0.25, ge=0, le=60)
    # A stream ends after this long (the client resumes with Last-Event-ID): connections
    # spread again over API processes, and nothing stays open forever.
    sse_max_stream_seconds: float = Field(default=3600.0, gt=0)
    # Open streams one API process serves at most; beyond, 503 (clients poll instead).
    sse_max_streams: int = Field(default=10_000, ge=0)

    # --- Resilience: database unavailability (docs/security.md) ---
    # Retry-After (seconds) on the API's 503 while the database is unavailable.
    unavailable_retry_after_seconds: int = Field(default=5, ge=1, le=3600)
    # One connection attempt that takes longer counts as "database unavailable".
    database_connect_timeout_seconds: float = Field(default=5.0, gt=0)
    # Backoff between reconnect attempts of workers, listeners and maintenance (jobrunner/backoff.py).
    database_reconnect_base_seconds: float = Field(default=0.5, gt=0)
    database_reconnect_cap_seconds: float = Field(default=10.0, gt=0)


@lru_cache
def get_settings() -> Settings:
    return Settings()


def invalid_setting(exc: ValidationError) -> str:
    """The first setting a ``ValidationError`` of ``Settings()`` refuses, as its variable's
    name and why (for a one-line error)."""
    error = exc.errors()[0]
    name = ".".join(map(str, error["loc"]))
    return f"{name if name.isupper() else 'JOBRUNNER_' + name.upper()}: {error['msg']}"
