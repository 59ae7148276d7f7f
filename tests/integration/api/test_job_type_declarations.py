"""The API reads a job type's declaration: its permission, its payload model and its
default ``maxRetries``."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from pydantic import BaseModel

from jobrunner import JobContext, Step, job_type
from jobrunner.domain.jobtypes import JOB_TYPES
from jobrunner.worker.registry import PROCESSORS
from tests.integration.api.conftest import auth

NAME = "api_declared"


class Payload(BaseModel):
    n: int


@pytest.fixture(autouse=True)
def declared() -> Iterator[None]:
    @job_type(NAME, payload=Payload, permission="maintenance.run_cleanup", steps=[Step(50, "Only")], max_retries=5)
    async def run(ctx: JobContext[Payload]) -> None:
        return None

    yield
    JOB_TYPES.pop(NAME)
    PROCESSORS.pop(NAME)


async def status(client: httpx.AsyncClient, job_id: str) -> dict:
    return (await client.get(f"/v1/jobs/{job_id}/status", headers=auth("user_admin"))).json()["job"]


async def test_max_retries_defaults_to_the_declared_policy(client: httpx.AsyncClient) -> None:
    default = await client.post("/v1/jobs", headers=auth("user_admin"), json={"jobType": NAME, "payload": {"n": 1}})
    chosen = await client.post(
        "/v1/jobs", headers=auth("user_admin"), json={"jobType": NAME, "payload": {"n": 1}, "maxRetries": 1}
    )
    assert default.status_code == chosen.status_code == 202, default.text
    job = await status(client, default.json()["jobId"])
    assert (job["maxRetries"], job["totalSteps"]) == (5, 1)
    assert (await status(client, chosen.json()["jobId"]))["maxRetries"] == 1


async def test_the_declared_permission_and_payload_are_enforced(client: httpx.AsyncClient) -> None:
    body = {"jobType": NAME, "payload": {"n": 1}}
    assert (await client.post("/v1/jobs", headers=auth("user_member"), json=body)).status_code == 403
    for payload in ({"n": "x"}, {"n": 1, "other": 2}, {"n": 1, "fee": 2}):
        answer = await client.post("/v1/jobs", headers=auth("user_admin"), json={"jobType": NAME, "payload": payload})
        assert answer.status_code == 422, (payload, answer.text)
