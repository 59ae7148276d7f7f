"""``jobrunner schedules ...`` as a real process against a running service (no worker)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator

import pytest

from tests.integration.web.conftest import LiveService, running_service
from tests.support.processes import REPO_ROOT, command_env

pytestmark = pytest.mark.slow

PAYLOAD = json.dumps({"reportType": "quotes", "format": "csv"})


@pytest.fixture
def service(database_url: str) -> Iterator[LiveService]:
    with running_service(database_url, with_worker=False) as live:
        yield live


def schedules(service: LiveService, *args: str, user: str = "user_admin") -> subprocess.CompletedProcess[str]:
    env = command_env(JOBRUNNER_TOKEN=service.token(user), JOBRUNNER_URL=service.url, COLUMNS="220")
    return subprocess.run(
        [sys.executable, "-m", "jobrunner.cli", "schedules", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO_ROOT,
    )


def test_create_list_pause_resume_delete(service: LiveService) -> None:
    created = schedules(
        service, "create", "export_report", "--cron", "0 6 * * 1", "--timezone", "Europe/Paris",
        "--payload", PAYLOAD, "--overlap", "skip", "--json",
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    schedule = json.loads(created.stdout)
    assert (schedule["cron"], schedule["overlap"], schedule["userId"]) == ("0 6 * * 1", "skip", "user_admin")

    listed = schedules(service, "list")
    assert listed.returncode == 0, listed.stderr
    assert schedule["id"][:8] in listed.stdout and schedule["nextRunAt"] in listed.stdout
    assert "Europe/Paris" in listed.stdout and "1 schedules" in listed.stdout

    paused = schedules(service, "pause", schedule["id"][:8])
    assert paused.returncode == 0, paused.stderr
    assert paused.stdout.strip() == f"{schedule['id']} paused"
    assert "paused" in schedules(service, "list").stdout
    resumed = schedules(service, "resume", schedule["id"])
    assert resumed.stdout.strip() == f"{schedule['id']} resumed; next run {schedule['nextRunAt']}"

    deleted = schedules(service, "delete", schedule["id"][:8])
    assert deleted.returncode == 0 and deleted.stdout.strip() == f"{schedule['id']} deleted"
    assert json.loads(schedules(service, "list", "--json").stdout)["schedules"] == []


def test_errors_are_one_line_on_stderr(service: LiveService) -> None:
    refused = schedules(service, "list", user="user_member")
    assert refused.returncode == 1 and refused.stdout == ""
    assert "permission to manage schedules" in refused.stderr
    invalid = schedules(service, "create", "export_report", "--cron", "every day", "--payload", PAYLOAD)
    assert invalid.returncode == 1 and "cron" in invalid.stderr
    missing = schedules(service, "delete", "00000000-0000-0000-0000-000000000000")
    assert missing.returncode == 1 and "No such schedule" in missing.stderr
    unknown = schedules(service, "pause", "abcdef")
    assert unknown.returncode == 1 and "No schedule" in unknown.stderr
