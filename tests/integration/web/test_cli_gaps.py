"""The client side of issues 13/14 in real processes against the whole service: `jobs create
--callback-url`, `jobs status` saying why a queued job waits (the page's words), and `jobs
watch` without an id following the list stream (no polling while it is open; the list polled
when the service cannot stream), seen from the service's own /metrics."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from prometheus_client.parser import text_string_to_metric_families

from jobrunner.db.demo_data import load_demo_data
from tests.integration.web.conftest import DEMO_QUOTES, LiveService, running_service
from tests.integration.web.test_cli_client import cli
from tests.integration.web.test_page_views import hold_the_organizations_only_slot, run_sql
from tests.support.processes import REPO_ROOT, command_env

pytestmark = pytest.mark.slow

METRICS_TOKEN = "metrics-token-for-the-cli-tests-0123456789"
LATER = "2099-01-01T00:00:00.000Z"
EXPORT = {"jobType": "export_report", "payload": {"reportType": "quotes", "format": "csv"}}


@pytest.fixture
def metered(database_url: str) -> Iterator[LiveService]:
    """The whole service with /metrics on (to see streams and requests from outside)."""
    asyncio.run(load_demo_data(database_url, quotes_per_org=DEMO_QUOTES))
    with running_service(database_url, metrics_token=METRICS_TOKEN) as service:
        yield service


def metric(service: LiveService, name: str, **labels: str) -> float:
    with service.api() as api:
        text = api.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}).text
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return sample.value
    return 0.0


def list_reads(service: LiveService) -> float:
    return metric(service, "jobrunner_http_requests_total", method="GET", route="/v1/jobs", status="200")


def wait_until(predicate, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.1)


@contextmanager
def watching(service: LiveService) -> Iterator[subprocess.Popen[str]]:
    """``jobrunner jobs watch --wide`` against the service; killed on the way out if it
    has not ended by itself."""
    env = command_env(JOBRUNNER_TOKEN=service.token(), JOBRUNNER_URL=service.url, COLUMNS="120")
    process = subprocess.Popen(
        [sys.executable, "-m", "jobrunner.cli_client", "jobs", "watch", "--wide"],
        env=env,
        cwd=REPO_ROOT,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()


def waiting_job(service: LiveService) -> str:
    with service.api() as api:
        return api.post("/v1/jobs", json={**EXPORT, "scheduledAt": LATER}).json()["jobId"]


def test_create_with_a_callback_url(live_service: LiveService) -> None:
    payload = json.dumps(EXPORT["payload"])
    hook = "https://backend.example.com/hooks/jobs"
    run = cli(live_service, "jobs", "create", "export_report", "--payload", payload, "--callback-url", hook)
    assert run.returncode == 0, run.stderr
    job_id = run.stdout.strip()
    with live_service.api() as api:
        assert api.get(f"/v1/jobs/{job_id}/status").json()["job"]["callbackUrl"] == hook

    refused = cli(
        live_service, "jobs", "create", "export_report", "--payload", payload, "--callback-url", "http://127.0.0.1/hook"
    )
    assert refused.returncode == 1 and refused.stdout == ""
    assert "Invalid input: callbackUrl: the callback URL" in refused.stderr.replace("\n", " "), refused.stderr
    both = cli(live_service, "jobs", "create", "--template", "x", "--callback-url", hook)
    assert both.returncode == 2 and "--callback-url cannot be combined with --template" in both.stderr.replace(
        "\n", " "
    )


def test_status_says_why_a_queued_job_waits(live_service: LiveService) -> None:
    later = waiting_job(live_service)
    shown = cli(live_service, "jobs", "status", later[:8], columns=200)
    assert shown.returncode == 0, shown.stderr
    assert "Scheduled for 2099-01-01 00:00 UTC" in shown.stdout
    assert json.loads(cli(live_service, "jobs", "status", later, "--json").stdout)["job"]["id"] == later  # JSON: as is

    with live_service.api() as api:
        body = {**EXPORT, "dependsOn": [later]}
        blocked = api.post("/v1/jobs", json=body).json()["jobId"]
        assert "Waiting for 1 job" in cli(live_service, "jobs", "status", blocked, columns=200).stdout

        hold_the_organizations_only_slot(live_service, api)
        waiting = api.post("/v1/jobs", json=EXPORT).json()["jobId"]
    # Its type's breaker is open for the organization (what a failing receiver does).
    run_sql(
        live_service.database_url,
        (
            "INSERT INTO circuit_breaker_rules (job_type, per_organization, failure_threshold, window_seconds,"
            " cooldown_seconds) VALUES ('export_report', true, 3, 60, 30)",
        ),
        (
            "INSERT INTO circuit_breakers (job_type, organization_id, state, failures, opened_at, retry_at)"
            " VALUES ('export_report', 'org_acme', 'open', 3, now(), '2099-01-01T00:00:00Z')",
        ),
    )
    paused = cli(live_service, "jobs", "status", waiting, columns=200)
    assert "Paused: receiver failing; trying again at 2099-01-01 00:00 UTC" in paused.stdout, paused.stdout
    run_sql(live_service.database_url, ("DELETE FROM circuit_breaker_rules WHERE job_type = 'export_report'",))
    busy = cli(live_service, "jobs", "status", waiting, columns=200)
    assert "Waiting: 1 of 1 running in your organization" in busy.stdout, busy.stdout

    with live_service.api() as api:
        api.post(f"/v1/jobs/{later}/cancel")
    done = cli(live_service, "jobs", "status", later, columns=200)
    assert "cancelled" in done.stdout and "Waiting" not in done.stdout and "Scheduled for" not in done.stdout


def test_watch_follows_the_list_stream_and_polls_nothing(metered: LiveService) -> None:
    first, second = waiting_job(metered), waiting_job(metered)
    reads = list_reads(metered)
    with watching(metered) as process:
        # The stream is open (the service's gauge) and the list was read once it was.
        wait_until(lambda: metric(metered, "jobrunner_sse_streams") == 1 and list_reads(metered) == reads + 1)
        time.sleep(2.5)  # longer than the polling interval (2 s): a polling watch would have read again
        assert list_reads(metered) == reads + 1
        with metered.api() as api:
            api.post(f"/v1/jobs/{first}/cancel")
            time.sleep(0.5)
            assert process.poll() is None  # the second job is still queued: still watching
            api.post(f"/v1/jobs/{second}/cancel")
        out, err = process.communicate(timeout=20)
    assert process.returncode == 0, err
    assert first in out and second in out and "cancelled" in out and "queued" not in out
    assert list_reads(metered) == reads + 1  # changes came as events, none by reading the list
    wait_until(lambda: metric(metered, "jobrunner_sse_streams") == 0)


def test_watch_polls_the_list_when_the_service_cannot_stream(database_url: str) -> None:
    asyncio.run(load_demo_data(database_url, quotes_per_org=DEMO_QUOTES))
    with running_service(database_url, metrics_token=METRICS_TOKEN, sse_max_streams=0) as service:
        job_id = waiting_job(service)
        reads = list_reads(service)
        with watching(service) as process:
            wait_until(lambda: list_reads(service) >= reads + 2)  # read, 2 s, read again
            with service.api() as api:
                api.post(f"/v1/jobs/{job_id}/cancel")
            out, err = process.communicate(timeout=20)
        assert process.returncode == 0, err
        assert job_id in out and "cancelled" in out
        assert metric(service, "jobrunner_sse_streams") == 0
