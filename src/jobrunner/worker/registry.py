"""``job_type``: a job type declared in one place, on its run function::

    @job_type("thumbnail", payload=ThumbnailPayload, steps=[Step(30, "Fetch"), Step(70, "Resize")])
    async def make_thumbnail(ctx: JobContext[ThumbnailPayload]) -> dict:
        ...

The declaration (``domain.jobtypes.JobType``) goes to ``JOB_TYPES``, which the API reads;
the declaration with its run function (a ``Processor``) goes to ``PROCESSORS``, which the
worker reads (``get_processor``).

What the run function returns becomes the job's ``result``. It raises ``RetryLater`` for
a transient failure and ``PermanentError`` for one that retrying cannot fix; any other
exception is treated as transient.
"""

from __future__ import annotations

import functools
import inspect
import random
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel, ValidationError

from jobrunner.backoff import backoff_seconds
from jobrunner.domain.errors import PermanentError
from jobrunner.domain.jobtypes import DEFAULT_PERMISSION, JobType, RetryPolicy, Step, declare, strict_payload

if TYPE_CHECKING:
    from jobrunner.settings import Settings
    from jobrunner.worker.context import JobContext

__all__ = ["PROCESSORS", "Processor", "Step", "get_processor", "job_type", "retry_backoff"]

P = TypeVar("P", bound=BaseModel)
R = TypeVar("R")
RunFunction = Callable[["JobContext[Any]"], Awaitable[Any]]


@dataclass(frozen=True)
class Processor:
    """A declared job type and the function that runs its jobs."""

    job_type: JobType
    run: RunFunction

    @property
    def steps(self) -> tuple[Step, ...]:
        return self.job_type.steps

    @property
    def timeout_seconds(self) -> float:
        return self.job_type.timeout_seconds

    def backoff_bounds(self, settings: Settings) -> tuple[float, float]:
        """(base, cap) of the backoff between attempts: the job type's, else the service's."""
        retry = self.job_type.retry
        return (
            retry.backoff_base_seconds or settings.retry_backoff_base_seconds,
            retry.backoff_cap_seconds or settings.retry_backoff_cap_seconds,
        )


PROCESSORS: dict[str, Processor] = {}


def get_processor(name: str) -> Processor | None:
    """The processor of job type ``name``, or None if no module declared it here."""
    return PROCESSORS.get(name)


def retry_backoff(
    job_type_name: str, settings: Settings, rand: Callable[[], float] = random.random
) -> Callable[[int], float]:
    """The delay before retry N of a job of this type: its declared backoff bounds, or the
    service's when it declares none (or is not declared in this process)."""
    processor = get_processor(job_type_name)
    if processor is not None:
        base, cap = processor.backoff_bounds(settings)
    else:
        base, cap = settings.retry_backoff_base_seconds, settings.retry_backoff_cap_seconds
    return functools.partial(backoff_seconds, base=base, cap=cap, rand=rand)


def job_type(
    name: str,
    *,
    payload: type[P],
    permission: str = DEFAULT_PERMISSION,
    steps: Sequence[Step] = (),
    timeout_seconds: float = 600.0,
    max_retries: int = 3,
    backoff_base_seconds: float | None = None,
    backoff_cap_seconds: float | None = None,
    result: type[BaseModel] | None = None,
    description: str | None = None,
) -> Callable[[Callable[[JobContext[P]], Awaitable[R]]], Callable[[JobContext[P]], Awaitable[R]]]:
    """Declare job type ``name`` with the decorated async function as its processor.

    Args:
        name: the ``jobType`` clients send (1-50 characters).
        payload: a pydantic model of the payload; the API validates ``payload`` against it
            (422 on a mismatch) and the processor sees it as ``ctx.payload``. Unknown
            fields and monetary values are refused whatever the model says.
        permission: what a user needs, besides ``jobs.create_jobs``, to create the job.
        steps: the steps, in order: ``Step(progress, label)``; a job's ``totalSteps``.
        timeout_seconds: an attempt running longer is stopped and counts as a transient
            failure.
        max_retries: the job's ``maxRetries`` when its creator gives none (0-10).
        backoff_base_seconds, backoff_cap_seconds: the backoff between attempts, as
            the retry decision reads it (``Processor.backoff_bounds``; None: the
            service's ``JOBRUNNER_RETRY_BACKOFF_BASE_SECONDS`` / ``_CAP_SECONDS``).
        result: optionally, a pydantic model of the result: what the function returns
            (a dict or the model) is validated and stored as the model's JSON; a mismatch
            fails the job.
        description: one line for people; defaults to the function's docstring's first.

    The decorated function is returned unchanged.
    """

    # Built at once, so a mistake (steps going backwards, a bad retry policy) is reported
    # where the decorator is written.
    declared = JobType(
        name=name,
        payload_model=strict_payload(payload),
        permission=permission,
        steps=tuple(steps),
        timeout_seconds=float(timeout_seconds),
        retry=RetryPolicy(max_retries, backoff_base_seconds, backoff_cap_seconds),
        result_model=result,
        description=description or "",
    )

    def register(run: Callable[[JobContext[P]], Awaitable[R]]) -> Callable[[JobContext[P]], Awaitable[R]]:
        if not inspect.iscoroutinefunction(run):
            raise TypeError(f"job type {name!r}: the processor must be an async function")
        declaration = replace(
            declared,
            origin=f"{run.__module__}.{run.__qualname__}",
            description=description if description is not None else _first_line(run.__doc__),
        )
        declare(declaration)
        PROCESSORS[name] = Processor(declaration, run if result is None else _checking_result(run, result))
        return run

    return register


def _checking_result(run: RunFunction, model: type[BaseModel]) -> RunFunction:
    async def run_and_check(ctx: JobContext[Any]) -> dict[str, Any]:
        value = await run(ctx)
        try:
            checked = value if isinstance(value, model) else model.model_validate(value)
        except ValidationError as exc:
            raise PermanentError(
                f"The job's result does not match its result model {model.__name__} ({exc.error_count()} errors)"
            ) from exc
        return checked.model_dump(mode="json")

    return run_and_check


def _first_line(doc: str | None) -> str:
    return inspect.cleandoc(doc).splitlines()[0] if doc and doc.strip() else ""
