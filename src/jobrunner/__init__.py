"""jobrunner: background jobs for web products on PostgreSQL.

The processor API, all of it::

    from jobrunner import job_type, Step, JobContext, RetryLater, PermanentError

- ``job_type(name, payload=Model, steps=[...], ...)``: declares a job type on its async
  run function (name, payload model, permission, steps, timeout, retry policy, result).
- ``Step(progress, label)``: one step; its band runs up to the next step's progress.
- ``JobContext[Model]``: what the run function gets: ``payload``, ``step(n)``,
  ``progress(fraction)``, ``check_cancelled()``, ``on_cleanup(callback)``, ``pool``, ...
- ``RetryLater(detail, delay=None)``: a transient failure (retried with backoff).
- ``PermanentError(detail)``: a failure retrying cannot fix (the job fails at once).

See docs/worker.md, "Writing a processor". The names are loaded on first use, so
``import jobrunner`` (the CLI's start) stays cheap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from jobrunner.domain.errors import PermanentError, RetryLater
    from jobrunner.domain.jobtypes import Step
    from jobrunner.worker.context import JobContext
    from jobrunner.worker.registry import job_type

__version__ = "0.1.0"
__all__ = ["JobContext", "PermanentError", "RetryLater", "Step", "job_type"]

# Where each public name lives (imported by name, on first use).
_HOMES = {
    "job_type": "jobrunner.worker.registry",
    "Step": "jobrunner.domain.jobtypes",
    "JobContext": "jobrunner.worker.context",
    "RetryLater": "jobrunner.domain.errors",
    "PermanentError": "jobrunner.domain.errors",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'jobrunner' has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_HOMES])
