"""Issue 9, item 1: no import stalls the event loop. A real worker runs in the API's event
loop (as under ``jobrunner serve``) while a probe measures the loop's worst stall; the
hostile files are the ones a member can upload: tens of thousands of columns, a very long
line, a row with tens of thousands of fields, many fat rows."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path

import asyncpg
import httpx
import pytest

from jobrunner.settings import Settings
from jobrunner.uploads.store import upload_key
from jobrunner.worker.loop import Worker
from tests.integration.api.conftest import assert_problem, auth
from tests.integration.jobtypes.conftest import start_job, wait_final
from tests.integration.worker.conftest import fast_settings

MAX_STALL = 0.2
HEADER = "name,email,country\n"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return fast_settings(data_dir=tmp_path / "data", pool_min_size=1)


class StallProbe:
    """Sleeps ``tick`` seconds in a loop on the event loop and records how late it wakes."""

    def __init__(self, tick: float = 0.01) -> None:
        self.tick = tick
        self.worst = 0.0

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            started = loop.time()
            await asyncio.sleep(self.tick)
            self.worst = max(self.worst, loop.time() - started - self.tick)


@asynccontextmanager
async def probing() -> AsyncIterator[StallProbe]:
    probe = StallProbe()
    task = asyncio.create_task(probe.run())
    try:
        yield probe
    finally:
        task.cancel()


@contextmanager
def file_of(tmp_path: Path, name: str, lines: Iterator[str]) -> Iterator[Path]:
    path = tmp_path / name
    with open(path, "w", encoding="utf-8", newline="") as file:
        file.writelines(lines)
    yield path


async def place_upload(db: asyncpg.Connection, settings: Settings, path: Path, user: str = "user_admin") -> str:
    """An upload as POST /v1/uploads leaves it (file in the store, row in ``uploads``),
    written directly: the worker must hold its limits whatever the upload check let in."""
    upload_id = uuid.uuid4()
    target = Path(settings.data_dir) / "uploads" / upload_key(upload_id)
    target.parent.mkdir(parents=True, exist_ok=True)
    path.replace(target)
    await db.execute(
        "INSERT INTO uploads (id, organization_id, user_id, filename, storage_key, size_bytes)"
        " VALUES ($1, 'org_acme', $2, 'hostile.csv', $3, $4)",
        upload_id,
        user,
        upload_key(upload_id),
        target.stat().st_size,
    )
    return str(upload_id)


def import_payload(upload_id: str) -> dict[str, str]:
    return {"operation": "import", "dataset": "customers", "uploadId": upload_id, "mode": "insert"}


async def test_hostile_files_fail_cleanly_without_stalling_the_loop(
    client: httpx.AsyncClient, database_url: str, settings: Settings, db: asyncpg.Connection, tmp_path: Path
) -> None:
    wide_header = ",".join(f"column_{i}" for i in range(25_000)) + "\n"  # ~300 KB, the 164 KB kind
    files = {
        "wide header": ([wide_header, "a,b,c\n"], "line 1 is longer than 16384 characters"),
        "many columns": ([",".join(f"c{i}" for i in range(1_000)) + "\n"], "the header has more than 100 columns"),
        "long line": ([HEADER, "A" * 3_000_000 + ",a@example.com,DE\n"], "line 2 is longer than 16384 characters"),
        "many fields": ([HEADER, "Ann,ann@example.com,DE\n", "," * 10_000 + "\n"], "line 3 has more than 100 fields"),
    }
    jobs = {}
    for name, (lines, _) in files.items():
        with file_of(tmp_path, f"{name}.csv", iter(lines)) as path:
            jobs[name] = await start_job(
                client, "data_processing", import_payload(await place_upload(db, settings, path))
            )

    async with probing() as probe, Worker(database_url, settings, concurrency=4, worker_id="loop-test").running():
        finished = {name: await wait_final(client, job_id, timeout=60) for name, job_id in jobs.items()}
        health = await client.get("/healthz")
    assert health.status_code == 200
    for name, (_, message) in files.items():
        job = finished[name]
        assert job["status"] == "failed" and job["retryCount"] == 0, (name, job)
        assert job["errorMessage"] == f"Invalid import payload: {message}", (name, job["errorMessage"])
    assert probe.worst < MAX_STALL, f"the event loop stalled {probe.worst:.3f} s"


async def test_a_large_import_keeps_the_loop_answering_and_cancels_within_a_second(
    client: httpx.AsyncClient, database_url: str, settings: Settings, db: asyncpg.Connection, tmp_path: Path
) -> None:
    # Rows as fat as the line limit allows: padding around a valid name (the check strips it).
    pad = " " * 8_000

    def rows() -> Iterator[str]:
        yield HEADER
        for i in range(10_000):
            yield f"{pad}Customer {i}{pad[:200]},customer{i}@example.com,DE\n"

    with file_of(tmp_path, "fat.csv", rows()) as path:
        job_id = await start_job(client, "data_processing", import_payload(await place_upload(db, settings, path)))

    async with Worker(database_url, settings, concurrency=2, worker_id="loop-test").running():
        async with probing() as probe:
            deadline = time.monotonic() + 60
            while True:  # well into parsing: the first batch is behind us
                row = await db.fetchrow(
                    "SELECT status, current_step, progress FROM jobs WHERE id = $1", uuid.UUID(job_id)
                )
                if row["status"] == "running" and (row["current_step"] >= 3 or row["progress"] > 17):
                    break
                assert row["status"] in ("queued", "running"), row
                assert time.monotonic() < deadline, row
                await asyncio.sleep(0.01)
            healthz_started = time.monotonic()
            assert (await client.get("/healthz")).status_code == 200
            healthz_seconds = time.monotonic() - healthz_started
            asked = time.monotonic()
            response = await client.post(f"/v1/jobs/{job_id}/cancel", headers=auth("user_admin"))
            assert response.status_code == 200, response.text
            while await db.fetchval("SELECT locked_by FROM jobs WHERE id = $1", uuid.UUID(job_id)) is not None:
                await asyncio.sleep(0.01)
            took = time.monotonic() - asked
    job = await wait_final(client, job_id)
    assert job["status"] == "cancelled", job
    assert took < 1.0, f"the cancel took {took:.2f} s"
    assert healthz_seconds < MAX_STALL, f"/healthz took {healthz_seconds:.3f} s"
    assert probe.worst < MAX_STALL, f"the event loop stalled {probe.worst:.3f} s"


async def test_uploads_with_a_header_beyond_the_limits_are_refused_at_once(client: httpx.AsyncClient) -> None:
    headers = {**auth("user_admin"), "Content-Type": "text/csv"}
    wide = ",".join(f"column_{i}" for i in range(25_000)).encode() + b"\nA,a@example.com,DE\n"
    many = ",".join(f"c{i}" for i in range(1_000)).encode() + b"\n"
    endless = b"name," * 20_000  # no line break at all
    for content, message in (
        (wide, "the header line is longer than 16384 characters"),
        (endless, "the header line is longer than 16384 characters"),
        (many, "the header has more than 100 columns"),
    ):
        body = assert_problem(await client.post("/v1/uploads", content=content, headers=headers), 422)
        assert body["errors"] == [{"loc": "body", "message": message}], body
    fine = b"\xef\xbb\xbfname,email,country\r\n" + b"A,a@example.com,DE\r\n" * 5_000
    assert (await client.post("/v1/uploads", content=fine, headers=headers)).status_code == 201
