"""Job-type declarations: what the API and the worker both know about a job type.

A job type is declared once, by the ``job_type`` decorator on its run function
(``worker/registry.py``), in the module where that function lives. The declaration (a
``JobType``) carries the name, the payload model, the permission needed to create such a
job, the steps (labels and progress bands), the timeout, the retry policy and, optionally,
the result model; ``JOB_TYPES`` lists every declaration imported so far. The API validates
payloads and checks permissions against it; the worker reads steps, timeout and retries
from it. The API and the worker import the modules that declare job types at start-up
(``plugins.load_imports``: jobrunner's own processors plus ``JOBRUNNER_IMPORTS``).

Nothing here imports the worker, the API or the driver."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from pydantic import BaseModel, ConfigDict

from jobrunner.domain.payload_model import PayloadModel

__all__ = ["JOB_TYPES", "JobType", "RetryPolicy", "Step", "declare", "progress_at", "strict_payload"]

# The permission every job creator needs anyway (``auth/rbac.py`` CREATE_JOBS): the
# default for a job type that needs nothing more.
DEFAULT_PERMISSION = "jobs.create_jobs"


@dataclass(frozen=True)
class Step:
    """One step of a job type: the progress shown when it starts (0-100), and its label.

    Step ``n``'s band runs from its own progress to the next step's (100 for the last);
    ``ctx.progress(fraction)`` moves inside it."""

    progress: int
    label: str


@dataclass(frozen=True)
class RetryPolicy:
    """How a job type retries transient failures.

    ``max_retries``: the default of a job's ``maxRetries`` when its creator gives none.
    ``backoff_base_seconds`` / ``backoff_cap_seconds``: the exponential backoff between
    attempts; None means the service's ``JOBRUNNER_RETRY_BACKOFF_BASE_SECONDS`` /
    ``JOBRUNNER_RETRY_BACKOFF_CAP_SECONDS``. A ``RetryLater(delay=...)`` overrides both."""

    max_retries: int = 3
    backoff_base_seconds: float | None = None
    backoff_cap_seconds: float | None = None

    def __post_init__(self) -> None:
        if not 0 <= self.max_retries <= 10:
            raise ValueError("max_retries must be 0-10, as a job's maxRetries")
        for value in (self.backoff_base_seconds, self.backoff_cap_seconds):
            if value is not None and not value > 0:
                raise ValueError("backoff seconds must be positive")


@dataclass(frozen=True)
class JobType:
    """A job type's declaration (see the module docstring). ``payload_model`` refuses
    unknown fields and monetary values whatever model was declared (``strict_payload``)."""

    name: str
    payload_model: type[PayloadModel]
    permission: str = DEFAULT_PERMISSION
    steps: tuple[Step, ...] = ()
    timeout_seconds: float = 600.0
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    result_model: type[BaseModel] | None = None
    description: str = ""
    origin: str = ""  # where it is declared: the run function's module.qualname

    def __post_init__(self) -> None:
        if not self.name or len(self.name) > 50:
            raise ValueError("a job type's name is 1-50 characters (the API's jobType)")
        previous = 0
        for step in self.steps:
            if not previous <= step.progress <= 100:
                raise ValueError(f"{self.name}: step progress must rise within 0-100, got {step.progress}")
            previous = step.progress
        if not self.timeout_seconds > 0:
            raise ValueError(f"{self.name}: timeout_seconds must be positive")

    @property
    def total_steps(self) -> int:
        return len(self.steps)

    def step(self, number: int) -> Step:
        """Step ``number`` (1-based); ValueError for a step the type does not have."""
        if not 1 <= number <= len(self.steps):
            raise ValueError(f"{self.name} has steps 1..{len(self.steps)}, not {number}")
        return self.steps[number - 1]


JOB_TYPES: dict[str, JobType] = {}
"""Every job type declared so far, by name."""


def declare(job_type: JobType) -> JobType:
    """Add a declaration to ``JOB_TYPES``. A name declared in two places is an error; the
    same place declaring it again (its module imported anew) replaces the declaration."""
    known = JOB_TYPES.get(job_type.name)
    if known is not None and (known.origin != job_type.origin or not known.origin):
        raise ValueError(f"job type {job_type.name!r} is declared twice: {known.origin} and {job_type.origin}")
    JOB_TYPES[job_type.name] = job_type
    return job_type


def strict_payload(model: type[BaseModel]) -> type[PayloadModel]:
    """``model`` with jobrunner's payload rules (unknown fields and monetary values
    refused): itself if it is a ``PayloadModel``, else a subclass that adds them."""
    if issubclass(model, PayloadModel):
        return model
    namespace = {
        "__module__": model.__module__,
        "__qualname__": model.__qualname__,
        "__doc__": model.__doc__,
        "model_config": ConfigDict(extra="forbid"),
    }
    return type(model.__name__, (PayloadModel, model), namespace)


def progress_at(steps: Sequence[Step], step: int, fraction: float) -> int:
    """The progress ``fraction`` (0.0-1.0) of the way through step ``step``'s band.

    The band runs from the step's own progress up to just below the next step's (the next
    step's value is reached by starting it), or up to 100 for the last step; before step
    1 it runs from 0 to step 1's progress. NaN and negatives count as 0, beyond 1 as 1."""
    if step:
        start = steps[step - 1].progress
        end = steps[step].progress if step < len(steps) else 100
    else:
        start, end = 0, steps[0].progress if steps else 100
    fraction = float(fraction)
    fraction = 0.0 if math.isnan(fraction) or fraction < 0.0 else min(fraction, 1.0)
    value = start + int(fraction * (end - start))
    return min(value, end - 1) if end > start else value
