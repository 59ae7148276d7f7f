"""A job type is one declaration: what ``@job_type`` records for the API (``JOB_TYPES``)
and for the worker (``PROCESSORS``), what it refuses, the built-in types declared the same
way, and the public API ``from jobrunner import ...`` (cheap to import)."""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from jobrunner import JobContext, PermanentError, RetryLater, Step, job_type
from jobrunner.domain.jobtypes import JOB_TYPES
from jobrunner.plugins import load_imports
from jobrunner.settings import Settings
from jobrunner.worker.context import InMemoryReporter
from jobrunner.worker.registry import PROCESSORS, get_processor


class Payload(BaseModel):
    imageId: str


class Result(BaseModel):
    url: str
    bytes: int


@pytest.fixture
def names() -> Iterator[list[str]]:
    """Job type names to forget after the test."""
    declared: list[str] = []
    yield declared
    for name in declared:
        JOB_TYPES.pop(name, None)
        PROCESSORS.pop(name, None)


def context(name: str, payload: dict[str, Any]) -> JobContext[Any]:
    declaration = JOB_TYPES[name]
    ctx: JobContext[Any] = JobContext(
        declaration,
        job_id=uuid.uuid4(),
        organization_id="o",
        user_id="u",
        raw_payload=payload,
        pool=None,
        settings=Settings(),  # type: ignore[arg-type]
        reporter=InMemoryReporter(),
    )
    ctx.payload = declaration.payload_model.model_validate(payload)
    return ctx


def test_one_decorator_declares_everything(names: list[str]) -> None:
    names.append("unit_thumb")

    @job_type(
        "unit_thumb",
        payload=Payload,
        permission="data.process_data",
        steps=[Step(30, "Fetch"), Step(70, "Resize")],
        timeout_seconds=120,
        max_retries=5,
        backoff_base_seconds=1,
        result=Result,
    )
    async def thumb(ctx: JobContext[Payload]) -> Result:
        """Make a thumbnail.

        More words."""
        return Result(url=ctx.payload.imageId, bytes=1)

    declared = JOB_TYPES["unit_thumb"]
    assert (declared.permission, declared.total_steps, declared.timeout_seconds) == ("data.process_data", 2, 120)
    assert [step.label for step in declared.steps] == ["Fetch", "Resize"]
    assert declared.retry.max_retries == 5 and declared.result_model is Result
    assert declared.description == "Make a thumbnail."
    assert declared.origin.endswith("test_one_decorator_declares_everything.<locals>.thumb")
    processor = get_processor("unit_thumb")
    assert processor is not None and processor.job_type is declared and processor.timeout_seconds == 120
    assert processor.backoff_bounds(Settings(retry_backoff_cap_seconds=60)) == (1, 60)


def test_the_payload_model_refuses_unknown_fields_and_money(names: list[str]) -> None:
    names.append("unit_strict")

    @job_type("unit_strict", payload=Payload)
    async def strict(ctx: JobContext[Payload]) -> None:
        return None

    model = JOB_TYPES["unit_strict"].payload_model
    assert isinstance(model.model_validate({"imageId": "a"}), Payload)
    for bad in ({"imageId": "a", "extra": 1}, {"imageId": "a", "price": 3}):
        with pytest.raises(ValidationError):
            model.model_validate(bad)
    assert model.__name__ == "Payload"


async def test_a_result_model_shapes_and_checks_the_result(names: list[str]) -> None:
    names += ["unit_result", "unit_bad_result"]

    @job_type("unit_result", payload=Payload, result=Result)
    async def good(ctx: JobContext[Payload]) -> Result:
        return Result(url=ctx.payload.imageId, bytes=3)

    @job_type("unit_bad_result", payload=Payload, result=Result)
    async def bad(ctx: JobContext[Payload]) -> dict[str, Any]:
        return {"url": "x"}

    assert await PROCESSORS["unit_result"].run(context("unit_result", {"imageId": "i"})) == {"url": "i", "bytes": 3}
    with pytest.raises(PermanentError, match="does not match its result model Result"):
        await PROCESSORS["unit_bad_result"].run(context("unit_bad_result", {"imageId": "i"}))
    assert await good(context("unit_result", {"imageId": "j"})) == Result(url="j", bytes=3)  # returned unchanged


def test_mistakes_are_refused_at_declaration(names: list[str]) -> None:
    names.append("unit_twice")

    @job_type("unit_twice", payload=Payload)
    async def first(ctx: JobContext[Payload]) -> None:
        return None

    with pytest.raises(ValueError, match="declared twice"):

        @job_type("unit_twice", payload=Payload)
        async def second(ctx: JobContext[Payload]) -> None:
            return None

    with pytest.raises(ValueError, match="must rise"):
        job_type("unit_backwards", payload=Payload, steps=[Step(50, "B"), Step(20, "A")])
    with pytest.raises(TypeError, match="async"):
        job_type("unit_sync", payload=Payload)(print)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="max_retries"):
        job_type("unit_retries", payload=Payload, max_retries=11)
    assert not {"unit_backwards", "unit_sync", "unit_retries"} & set(JOB_TYPES)


def test_the_built_in_types_are_declared_by_their_processors() -> None:
    load_imports(Settings())
    expected = {
        "export_report": ("reports.export_reports", 6),
        "data_processing": ("data.process_data", 4),
        "notification": ("notifications.send_notifications", 3),
        "cleanup": ("maintenance.run_cleanup", 4),
        "sync": ("integrations.run_sync", 3),
    }
    for name, (permission, steps) in expected.items():
        declared = JOB_TYPES[name]
        assert (declared.permission, declared.total_steps) == (permission, steps), name
        assert declared.origin.startswith(f"jobrunner.processors.{name}."), declared.origin
        assert declared.description and get_processor(name) is not None


def test_the_public_api_is_five_names_loaded_on_first_use() -> None:
    import jobrunner

    assert sorted(jobrunner.__all__) == ["JobContext", "PermanentError", "RetryLater", "Step", "job_type"]
    assert jobrunner.RetryLater is RetryLater and jobrunner.JobContext is JobContext
    with pytest.raises(AttributeError):
        jobrunner.processor  # noqa: B018
    probe = (
        "import sys, jobrunner; "
        "print(sorted(m for m in sys.modules if m.startswith(('jobrunner.', 'pydantic', 'asyncpg'))))"
    )
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert loaded.strip() == "[]"
