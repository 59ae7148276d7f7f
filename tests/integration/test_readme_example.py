"""The README's "your own job type" example, run as written: its python block becomes a
module named in JOBRUNNER_IMPORTS, a real worker process runs the job the API created,
and the job ends with the declared steps and the returned result. The payload model is a
plain pydantic model, yet the API refuses unknown fields and money in it."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from jobrunner.app import create_app
from jobrunner.db.pool import connect
from jobrunner.settings import Settings
from tests.conftest import JWT_SECRET
from tests.integration.api.conftest import auth
from tests.integration.worker.conftest import eventually
from tests.support.workers import ROOT, spawn_worker, stop_worker

pytestmark = pytest.mark.slow

MODULE = "readme_job_type_example"


def readme_example() -> str:
    """The python block of the README section that shows one's own job type."""
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("Your own job type") :]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)  # type: ignore[union-attr]


@pytest.fixture
def example_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    (tmp_path / f"{MODULE}.py").write_text(readme_example())
    monkeypatch.syspath_prepend(str(tmp_path))
    yield tmp_path
    sys.modules.pop(MODULE, None)


@pytest.fixture
async def client(example_dir: Path, database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(Settings(imports=MODULE), database_url, JWT_SECRET)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield client


async def test_the_readme_job_type_runs_as_written(
    client: httpx.AsyncClient, example_dir: Path, database_url: str, tmp_path: Path
) -> None:
    created = await client.post(
        "/v1/jobs", headers=auth("user_member"), json={"jobType": "thumbnail", "payload": {"imageId": "img-42"}}
    )
    assert created.status_code == 202, created.text
    job_id = created.json()["jobId"]

    python_path = os.pathsep.join([str(example_dir), str(ROOT), os.environ.get("PYTHONPATH", "")])
    worker = spawn_worker(
        database_url, imports=MODULE, env={"PYTHONPATH": python_path}, log_path=tmp_path / "worker.log"
    )
    try:
        job = await eventually(lambda: finished(database_url, job_id), timeout=30, interval=0.1)
    finally:
        stop_worker(worker)
    assert job == "succeeded", (tmp_path / "worker.log").read_text()
    job = (await client.get(f"/v1/jobs/{job_id}/status", headers=auth("user_member"))).json()["job"]
    assert (job["totalSteps"], job["currentStep"], job["stepLabel"], job["progress"]) == (2, 2, "Resize", 100)
    assert job["result"] == {"thumbnailUrl": "/thumbs/img-42.png"}
    assert job["maxRetries"] == 3  # the declaration's default


async def finished(database_url: str, job_id: str) -> str | None:
    conn = await connect(database_url)
    try:
        status = await conn.fetchval("SELECT status FROM jobs WHERE id = $1::uuid", job_id)
    finally:
        await conn.close()
    return status if status in ("succeeded", "failed") else None


@pytest.mark.parametrize("payload", [{"imageId": "a", "size": 2}, {"imageId": "a", "price": 3}])
async def test_the_readme_payload_refuses_unknown_fields_and_money(client: httpx.AsyncClient, payload: dict) -> None:
    body = {"jobType": "thumbnail", "payload": payload}
    answer = await client.post("/v1/jobs", headers=auth("user_member"), json=body)
    assert answer.status_code == 422, answer.text


def test_the_readme_example_type_checks(example_dir: Path) -> None:
    """``JobContext[ThumbnailPayload]`` types ``ctx.payload``: a misspelt field is an error."""
    wrong = example_dir / "readme_wrong.py"
    wrong.write_text(readme_example().replace("ctx.payload.imageId", "ctx.payload.imageID"))
    command = [
        sys.executable,
        "-m",
        "mypy",
        "--no-incremental",
        "--ignore-missing-imports",
        "--follow-imports=silent",
        "--no-error-summary",
    ]
    environment = dict(os.environ, MYPYPATH=os.environ.get("PYTHONPATH", ""))
    good = subprocess.run(
        [*command, str(example_dir / f"{MODULE}.py")], capture_output=True, text=True, env=environment, cwd=ROOT
    )
    assert good.returncode == 0, good.stdout + good.stderr
    bad = subprocess.run([*command, str(wrong)], capture_output=True, text=True, env=environment, cwd=ROOT)
    assert bad.returncode == 1 and '"ThumbnailPayload" has no attribute "imageID"' in bad.stdout, bad.stdout
