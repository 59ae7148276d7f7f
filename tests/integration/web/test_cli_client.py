"""The HTTP CLI (``jobs ...``, ``export --wait``) as a real process against a running service."""

from __future__ import annotations

import csv
import io
import json
import signal
import subprocess
import sys
import time

import pytest

from tests.integration.web.conftest import LiveService, running_service
from tests.support.processes import REPO_ROOT, command_env

pytestmark = pytest.mark.slow


def cli(
    service: LiveService,
    *args: str,
    user: str = "user_member",
    columns: int = 100,
    module: str = "jobrunner.cli_client",
) -> subprocess.CompletedProcess[str]:
    env = command_env(JOBRUNNER_TOKEN=service.token(user), JOBRUNNER_URL=service.url, COLUMNS=str(columns))
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO_ROOT,
    )


def test_export_wait_shows_progress_and_downloads_the_file(live_service: LiveService, tmp_path):
    out = tmp_path / "quotes.csv"
    run = cli(
        live_service,
        "export",
        "quotes",
        "--format",
        "csv",
        "--from",
        "2000-01-01",
        "--to",
        "2100-12-31",
        "--wait",
        "-o",
        str(out),
    )
    assert run.returncode == 0, run.stderr
    assert "100%" in run.stderr and "Finalize" in run.stderr
    rows = list(csv.reader(io.StringIO(out.read_text(encoding="utf-8-sig"))))
    assert rows[0][0] == "Quote Number"
    assert f"{len(rows) - 1} rows" in run.stderr

    run = cli(
        live_service, "export", "customers", "--format", "json", "--wait", "-o", str(tmp_path / "c.json"), "--json"
    )
    assert run.returncode == 0, run.stderr
    final = json.loads(run.stdout)
    assert final["job"]["status"] == "succeeded" and final["file"] == str(tmp_path / "c.json")
    assert len(json.loads((tmp_path / "c.json").read_text())) == final["job"]["result"]["recordCount"]


def test_jobs_commands(live_service: LiveService):
    payload = json.dumps({"reportType": "quotes", "format": "csv"})
    run = cli(
        live_service,
        "jobs",
        "create",
        "export_report",
        "--payload",
        payload,
        "--scheduled-at",
        "2099-01-01T00:00:00.000Z",
        "--priority",
        "3",
    )
    assert run.returncode == 0, run.stderr
    job_id = run.stdout.strip()

    listed = json.loads(cli(live_service, "jobs", "list", "--status", "queued", "--json").stdout)
    assert [job["id"] for job in listed["jobs"]] == [job_id]
    assert json.loads(cli(live_service, "jobs", "status", job_id, "--json").stdout)["canCancel"] is True
    assert cli(live_service, "jobs", "cancel", job_id).stdout.strip() == "Job cancelled successfully"
    again = cli(live_service, "jobs", "cancel", job_id)
    assert again.returncode == 1 and "current state" in again.stderr
    assert "cancelled" in cli(live_service, "jobs", "status", job_id).stdout

    denied = cli(live_service, "export", "quotes", user="user_viewer")
    assert denied.returncode == 1 and "don't have permission" in denied.stderr
    invalid = cli(live_service, "export", "quotes", "--format", "pdf")
    assert invalid.returncode == 1 and "Invalid input" in invalid.stderr
    assert cli(live_service, "jobs", "status", job_id, user="user_admin").returncode == 1  # not theirs: 404


def test_create_a_job_that_depends_on_others(live_service: LiveService):
    later = (
        "--payload",
        json.dumps({"reportType": "quotes", "format": "csv"}),
        "--scheduled-at",
        "2099-01-01T00:00:00Z",
    )
    first = cli(live_service, "jobs", "create", "export_report", *later).stdout.strip()
    second = cli(live_service, "jobs", "create", "export_report", *later).stdout.strip()
    run = cli(
        live_service,
        "jobs",
        "create",
        "export_report",
        "--payload",
        json.dumps({"reportType": "customers", "format": "csv"}),
        "--depends-on",
        f"{first[:8]}:first",  # the start of an id is enough, as for every jobs command
        "--depends-on",
        f"{second}:second",
    )
    assert run.returncode == 0, run.stderr
    waiting = run.stdout.strip()
    status = json.loads(cli(live_service, "jobs", "status", waiting, "--json").stdout)
    assert status["job"]["dependsOn"] == [{"jobId": first, "as": "first"}, {"jobId": second, "as": "second"}]
    shown = cli(live_service, "jobs", "status", waiting, columns=200).stdout
    assert f"depends on first ({first}), second ({second})" in shown and "waiting for 2 of them" in shown
    missing = cli(live_service, "jobs", "create", "export_report", "--payload", "{}", "--depends-on", "ffffffff")
    assert missing.returncode == 1


def test_ctrl_c_asks_whether_to_cancel_the_job(database_url: str):
    # No worker: the export stays queued while the CLI waits for it.
    with running_service(database_url, with_worker=False) as service:
        env = command_env(JOBRUNNER_TOKEN=service.token(), JOBRUNNER_URL=service.url)
        process = subprocess.Popen(
            [sys.executable, "-m", "jobrunner.cli_client", "export", "quotes", "--wait"],
            env=env,
            cwd=REPO_ROOT,
            text=True,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        started = process.stderr.readline()
        assert started.startswith("export started: job "), started
        job_id = started.split()[-1]
        time.sleep(1)
        process.send_signal(signal.SIGINT)
        _, err = process.communicate("y\n", timeout=30)
        assert process.returncode == 130, err
        assert "Cancel job" in err and "Job cancelled successfully" in err
        with service.api() as api:
            assert api.get(f"/v1/jobs/{job_id}/status").json()["job"]["status"] == "cancelled"
