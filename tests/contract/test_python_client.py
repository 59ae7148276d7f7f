"""A Python client generated from the document (openapi-python-client, at test time) runs
the product document's flows against a live service with a worker: create, poll with
ETag/304, the export's typed result, download (signed link and bearer), list, cancel,
retry, a 422, and an upload as multipart/form-data. No hand-written request anywhere."""

from __future__ import annotations

import datetime as dt
import importlib
import io
import os
import subprocess
import sys
import time
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.integration.api.conftest import token_for

pytestmark = pytest.mark.slow

PACKAGE = "jobrunner_generated_client"
CONFIG = Path(__file__).parent / "openapi-python-client.yaml"


@pytest.fixture(scope="session")
def generated(spec_file: Path, tmp_path_factory: pytest.TempPathFactory) -> ModuleType:
    """The generated package, imported (generated once per run)."""
    root = tmp_path_factory.mktemp("python-client")
    bin_dir = Path(sys.executable).parent
    run = subprocess.run(
        [
            str(bin_dir / "openapi-python-client"),
            "generate",
            "--path",
            str(spec_file),
            "--meta",
            "none",
            "--config",
            str(CONFIG),
            "--output-path",
            str(root / PACKAGE),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"},
    )
    assert run.returncode == 0, run.stdout + run.stderr
    output = run.stdout + run.stderr
    assert "WARNING" not in output and "Skipping" not in output, output
    sys.path.insert(0, str(root))
    return importlib.import_module(PACKAGE)


def _module(name: str) -> Any:
    return importlib.import_module(f"{PACKAGE}.{name}")


def _poll_until(client: Any, job_id: Any, statuses: set[str], timeout: float = 30.0) -> Any:
    get_job_status = _module("api.jobs.get_job_status")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        answer = get_job_status.sync(job_id, client=client)
        if answer.job.status.value in statuses:
            return answer
        time.sleep(0.2)
    raise AssertionError(f"job {job_id} did not reach {statuses}")


def test_the_product_flows(generated: ModuleType, live_url: str) -> None:
    models = _module("models")
    jobs = {
        name: _module(f"api.jobs.{name}")
        for name in ("create_job", "get_job_status", "list_jobs", "cancel_job", "retry_job")
    }
    download_export = _module("api.exports.download_export")
    client = generated.AuthenticatedClient(base_url=live_url, token=token_for("user_admin"))
    anonymous = generated.Client(base_url=live_url)

    # Create an export; poll it to the end; its result is typed.
    body = models.ExportReportJobRequest(
        job_type="export_report",
        payload=models.ExportReportPayload(report_type="quotes", format_=models.ExportReportPayloadFormat.CSV),
        priority=5,
    )
    created = jobs["create_job"].sync(client=client, body=body)
    assert isinstance(created, models.CreateJobResponse)
    done = _poll_until(client, created.job_id, {"succeeded", "failed"})
    job = done.job
    assert isinstance(job, models.ExportReportJob) and job.status == models.JobStatus.SUCCEEDED, job
    assert isinstance(job.payload, models.ExportReportPayload) and job.payload.report_type == "quotes"
    result = job.result
    assert isinstance(result, models.ExportReportResult)
    assert result.format_ == models.ExportReportResultFormat.CSV and result.record_count == 0
    assert isinstance(job.completed_at, dt.datetime) and isinstance(result.expires_at, dt.datetime)

    # Poll again with the ETag: 304.
    first = jobs["get_job_status"].sync_detailed(created.job_id, client=client)
    unchanged = jobs["get_job_status"].sync_detailed(created.job_id, client=client, if_none_match=first.headers["etag"])
    assert (first.status_code, unchanged.status_code) == (200, 304)

    # Download: with the signed link alone, and with the bearer token.
    link = parse_qs(urlsplit(result.download_url).query)
    by_link = download_export.sync_detailed(
        created.job_id, client=anonymous, expires=int(link["expires"][0]), sig=link["sig"][0]
    )
    by_token = download_export.sync_detailed(created.job_id, client=client)
    assert by_link.status_code == by_token.status_code == 200
    assert by_link.parsed.payload.read() == by_token.content and by_token.content.startswith(b"Quote Number,")

    # Cancel a job scheduled for later.
    later = models.ExportReportJobRequest(
        job_type="export_report",
        payload=models.ExportReportPayload(report_type="quotes", format_=models.ExportReportPayloadFormat.JSON),
        scheduled_at=dt.datetime.now(dt.UTC) + dt.timedelta(hours=1),
    )
    scheduled = jobs["create_job"].sync(client=client, body=later)
    cancelled = jobs["cancel_job"].sync(scheduled.job_id, client=client)
    assert cancelled.message == "Job cancelled successfully"

    # An unknown report type is accepted, fails in step 1, and may be retried.
    failing = models.ExportReportJobRequest(
        job_type="export_report",
        payload=models.ExportReportPayload(report_type="invalid_report", format_=models.ExportReportPayloadFormat.CSV),
    )
    failed_id = jobs["create_job"].sync(client=client, body=failing).job_id
    failed = _poll_until(client, failed_id, {"failed"})
    assert failed.can_retry and failed.job.current_step == 1
    assert jobs["retry_job"].sync(failed_id, client=client).message == "Job retry initiated successfully"

    # The list, typed job by job.
    page = jobs["list_jobs"].sync(client=client, page_size=10)
    assert isinstance(page, models.JobListResponse) and page.total == 3
    assert {type(job) for job in page.jobs} == {models.ExportReportJob}
    assert {job.status for job in page.jobs} >= {models.JobStatus.SUCCEEDED, models.JobStatus.CANCELLED}

    # A 422 is a ValidationProblem with its field errors.
    invalid = models.ExportReportJobRequest(
        job_type="export_report",
        payload=models.ExportReportPayload(report_type="quotes", format_=models.ExportReportPayloadFormat.CSV),
        priority=99,
    )
    problem = jobs["create_job"].sync(client=client, body=invalid)
    assert isinstance(problem, models.ValidationProblem) and problem.status == 422
    assert [error.loc for error in problem.errors] == ["priority"]
    not_found = jobs["cancel_job"].sync(failed_id.__class__(int=1), client=client)
    assert isinstance(not_found, models.Problem) and not_found.status == 404


def test_upload_as_multipart_then_import(generated: ModuleType, live_url: str) -> None:
    models = _module("models")
    types = _module("types")
    create_upload = _module("api.imports.create_upload")
    create_job = _module("api.jobs.create_job")
    client = generated.AuthenticatedClient(base_url=live_url, token=token_for("user_admin"))

    csv = b"name,email,country\nAda,ada@example.com,GB\n"
    form = models.UploadForm(file=types.File(payload=io.BytesIO(csv), file_name="people.csv", mime_type="text/csv"))
    upload = create_upload.sync(client=client, body=form)
    assert isinstance(upload, models.UploadResponse), upload
    assert (upload.filename, upload.size_bytes) == ("people.csv", len(csv))
    raw = create_upload.sync(client=client, body=types.File(payload=io.BytesIO(csv)), filename="raw.csv")
    assert isinstance(raw, models.UploadResponse) and (raw.filename, raw.size_bytes) == ("raw.csv", len(csv))

    body = models.DataProcessingJobRequest(
        job_type="data_processing",
        payload=models.DataProcessingPayload(
            operation="import",
            dataset=models.DataProcessingPayloadDataset.CUSTOMERS,
            upload_id=upload.upload_id,
        ),
    )
    job_id = create_job.sync(client=client, body=body).job_id
    job = _poll_until(client, job_id, {"succeeded", "failed"}).job
    assert isinstance(job, models.DataProcessingJob) and isinstance(job.result, models.DataProcessingResult), job
    assert (job.result.inserted, job.result.rejected) == (1, 0)
