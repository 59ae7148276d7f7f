"""Issue 9, item 3: demo sign-in (``/v1/demo/users``, ``/v1/demo/token``: an admin token for
anyone who can reach the port) exists only with the embedded database or when asked for
(``--demo``, JOBRUNNER_DEMO_MODE). With a DATABASE_URL it is off, and ``jobrunner run`` says
in one line which mode it is in."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest

from jobrunner.app import create_app
from jobrunner.runtime import load_runtime, resolve_demo_mode
from jobrunner.settings import Settings
from tests.conftest import JWT_SECRET
from tests.integration.api.conftest import assert_problem
from tests.support.processes import REPO_ROOT, command_env, free_port, wait_until_healthy

pytestmark = pytest.mark.slow


@pytest.mark.parametrize(
    ("database_url", "setting", "flag", "expected"),
    [
        (None, None, None, True),  # the embedded demo database
        ("postgresql://db/x", None, None, False),
        ("postgresql://db/x", None, True, True),
        ("postgresql://db/x", True, None, True),
        ("postgresql://db/x", True, False, False),
        (None, False, None, False),
        (None, None, False, False),
    ],
)
def test_demo_mode_is_on_only_with_the_embedded_database_or_when_asked(database_url, setting, flag, expected):
    settings = Settings(database_url=database_url, demo_mode=setting)
    assert resolve_demo_mode(settings, flag)[0] is expected


async def _call(database_url: str, demo: bool | None) -> tuple[httpx.Response, httpx.Response]:
    runtime = load_runtime(Settings(database_url=database_url, jwt_secret=JWT_SECRET), demo=demo)
    app = create_app(runtime.settings, runtime.database_url, runtime.jwt_secret)
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
            users = await client.get("/v1/demo/users")
            issued = await client.post("/v1/demo/token", json={"userId": "user_admin"})
            if issued.status_code == 200:
                me = await client.get("/v1/me", headers={"Authorization": f"Bearer {issued.json()['token']}"})
                assert me.json()["permissions"]
            return users, issued


async def test_with_a_database_url_demo_endpoints_do_not_exist(database_url: str) -> None:
    users, issued = await _call(database_url, None)
    assert_problem(users, 404)
    assert_problem(issued, 404)


async def test_with_the_demo_flag_they_work(database_url: str) -> None:
    users, issued = await _call(database_url, True)
    assert users.status_code == 200 and issued.status_code == 200
    assert issued.json()["expiresIn"] <= 24 * 3600


@contextmanager
def jobrunner_run(database_url: str, *args: str) -> Iterator[tuple[str, list[str]]]:
    port = free_port()
    env = command_env(DATABASE_URL=database_url, JOBRUNNER_JWT_SECRET=JWT_SECRET, PORT=str(port))
    process = subprocess.Popen(
        [sys.executable, "-m", "jobrunner.cli", "run", *args],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    lines: list[str] = []
    threading.Thread(target=lambda: lines.extend(iter(process.stdout.readline, "")), daemon=True).start()
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(process, base, lambda: "".join(lines))
        yield base, lines
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)


def _mode_lines(lines: list[str]) -> list[str]:
    return [line for line in lines if line.startswith("demo mode:")]


def test_jobrunner_run_with_a_database_url_has_no_demo_sign_in(empty_database_url: str) -> None:
    with jobrunner_run(empty_database_url) as (base, lines):
        assert_problem(httpx.post(f"{base}/v1/demo/token", json={"userId": "user_admin"}), 404)
        assert_problem(httpx.get(f"{base}/v1/demo/users"), 404)
        (mode,) = _mode_lines(lines)
        assert mode.startswith("demo mode: off") and "DATABASE_URL" in mode
        assert not any("eyJ" in line for line in lines), "no demo tokens are printed outside demo mode"

    with jobrunner_run(empty_database_url, "--demo") as (base, lines):
        issued = httpx.post(f"{base}/v1/demo/token", json={"userId": "user_admin"})
        assert issued.status_code == 200
        (mode,) = _mode_lines(lines)
        assert mode.startswith("demo mode: ON (--demo)")
