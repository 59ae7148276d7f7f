"""One exception family. The API maps these to problem details in ``api/errors.py``;
nothing here knows about HTTP."""

from __future__ import annotations

from typing import Any


class JobrunnerError(Exception):
    """Base of every error jobrunner raises on purpose."""

    def __init__(self, detail: str = "") -> None:
        super().__init__(detail)
        self.detail = detail


class AuthenticationError(JobrunnerError):
    """The caller is not who they claim (missing, malformed, expired or forged token)."""


class PermissionDenied(JobrunnerError):
    """The caller is known but lacks a permission."""


class NotFound(JobrunnerError):
    """The thing does not exist, or belongs to someone else (never say which)."""


class Gone(JobrunnerError):
    """The thing existed but has expired."""


class Conflict(JobrunnerError):
    """The action is not allowed in the job's current state."""


class InvalidInput(JobrunnerError):
    """The input is well-formed but invalid; ``errors`` lists one entry per field."""

    def __init__(self, detail: str, errors: list[dict[str, Any]] | None = None) -> None:
        super().__init__(detail)
        self.errors = errors or []


class RangeNotSatisfiable(JobrunnerError):
    """No byte of the file lies in the range asked for (``size``: the file's size)."""

    def __init__(self, size: int) -> None:
        super().__init__(f"the requested range lies outside the file ({size} bytes)")
        self.size = size


class ConfigurationError(JobrunnerError):
    """The service is configured in a way it refuses to start with (e.g. a short secret)."""


class QuotaExceeded(JobrunnerError):
    """A per-organization quota is reached (see domain/quotas.py); trying again after
    ``retry_after`` seconds may succeed."""

    def __init__(self, detail: str, retry_after: int) -> None:
        super().__init__(detail)
        self.retry_after = retry_after


class StorageUnavailable(JobrunnerError):
    """The file storage (an object store) does not answer or refuses: transient."""


class PushUnavailable(JobrunnerError):
    """Event streams cannot be served now (no LISTEN connection to the database, or this
    process serves as many streams as it may): poll the status endpoint instead."""


# Control flow a processor may raise.
class RetryLater(JobrunnerError):
    """A transient failure: retry with backoff (or after ``delay`` seconds) while retries are left."""

    def __init__(self, detail: str = "transient failure", delay: float | None = None) -> None:
        super().__init__(detail)
        self.delay = delay


class PermanentError(JobrunnerError):
    """A failure that retrying cannot fix: the job fails at once."""


class DestinationNotAllowed(PermanentError):
    """An outbound request's destination is loopback, private, link-local, multicast or
    reserved (and not explicitly allowed): refused before any byte is sent."""


class IllegalTransition(JobrunnerError):
    """A write tried a change of job status the state machine does not allow
    (domain/states.py TRANSITIONS; the database refuses it). Always a bug."""
