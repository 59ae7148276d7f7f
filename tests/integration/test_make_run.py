"""Smoke test of the README's first command: `make run` on the embedded database serves
/healthz, names the jobs page, prints a token per demo user, and those tokens work
against the API; after SIGTERM nothing is left running, not even the embedded PostgreSQL."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import threading
import time
from pathlib import Path

import httpx
import pytest

from jobrunner.db.demo_data import DEMO_TEMPLATES
from tests.support.processes import REPO_ROOT, command_env, free_port, postgres_serving, wait_until_healthy

pytestmark = pytest.mark.slow
TOKEN_LINE = re.compile(r"^\s+(user_\w+) \((\w+), (org_\w+)\): (eyJ[\w.-]+)$")


def test_make_run_serves_with_embedded_database(tmp_path: Path) -> None:
    port = free_port()
    pgdata = tmp_path / "data" / "pgdata"
    env = command_env(PORT=str(port), JOBRUNNER_DATA_DIR=str(tmp_path / "data"))
    process = subprocess.Popen(
        ["make", "--no-print-directory", "run"],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(iter(process.stdout.readline, "")), daemon=True)
    reader.start()
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(process, base, lambda: "".join(lines))
        assert f"jobs page: {base}/\n" in lines, "".join(lines)
        tokens = {m[1]: m[4] for m in (TOKEN_LINE.match(line.rstrip("\n")) for line in list(lines)) if m}
        assert set(tokens) == {"user_admin", "user_member", "user_viewer", "user_globex"}, "".join(lines)
        listed = httpx.get(f"{base}/v1/jobs", headers={"Authorization": f"Bearer {tokens['user_member']}"})
        assert listed.status_code == 200
        # Nothing seeded started a job; the page has templates to offer, the schedule is paused.
        assert listed.json()["total"] == 0
        templates = httpx.get(f"{base}/v1/job-templates", headers={"Authorization": f"Bearer {tokens['user_member']}"})
        assert sorted(t["name"] for t in templates.json()["templates"]) == sorted(t.name for t in DEMO_TEMPLATES)
        schedules = httpx.get(f"{base}/v1/schedules", headers={"Authorization": f"Bearer {tokens['user_admin']}"})
        assert [s["paused"] for s in schedules.json()["schedules"]] == [True]
        created = httpx.post(
            f"{base}/v1/jobs",
            headers={"Authorization": f"Bearer {tokens['user_member']}"},
            json={"jobType": "export_report", "payload": {"reportType": "quotes", "format": "csv"}},
        )
        assert created.status_code == 202, created.text
    finally:
        _stop(process)
        left = postgres_serving(pgdata)
        for postgres in left:
            postgres.send_signal(signal.SIGINT)  # fast shutdown: don't leave it to the machine
    assert not left, "the embedded PostgreSQL outlived `make run`"


def _stop(process: subprocess.Popen, timeout: float = 30) -> None:
    """SIGTERM the whole process group (make and the service) and wait until every one of
    them has exited (the service stops the embedded PostgreSQL on its way out); SIGKILL
    what lingers."""
    try:
        os.killpg(process.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        pass
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            os.killpg(process.pid, 0)  # ProcessLookupError once the group is empty
            time.sleep(0.2)
    except ProcessLookupError:
        return
    os.killpg(process.pid, signal.SIGKILL)
    pytest.fail("`make run` did not exit within 30 s of SIGTERM")
