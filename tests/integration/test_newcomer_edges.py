"""Issue 11's rough edges a newcomer hit, tried as a newcomer does: real ``jobrunner``
processes, free ports, temporary data folders.

- errors of the ``jobrunner`` command are one line on stderr with exit code 1, stdout
  stays empty, and ``token`` creates no database in a wrong data folder;
- the HTTP commands find the service on PORT;
- a second ``run`` on a busy port says so before migrating or printing tokens;
- the embedded PostgreSQL is stopped on every way out (SIGTERM, SIGINT, a failed
  start-up), and a process killed without cleaning up does not keep it running forever;
- the start-up banner names the jobs page.

``/docs`` working offline is tested in tests/integration/api/test_docs.py and, rendered in
Chromium, tests/integration/web/test_docs_offline.py.
"""

from __future__ import annotations

import asyncio
import json
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg
import pytest

from tests.conftest import JWT_SECRET
from tests.integration.web.conftest import running_service
from tests.support.processes import (
    REPO_ROOT,
    command_env,
    free_port,
    jobrunner,
    postgres_serving,
    wait_until_healthy,
)


def assert_one_line_error(answer: subprocess.CompletedProcess[str], *words: str) -> str:
    """Exit code 1, nothing on stdout, one line on stderr that holds ``words``."""
    assert answer.returncode == 1, (answer.stdout, answer.stderr)
    assert answer.stdout == "", answer.stdout
    lines = [line for line in answer.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, answer.stderr
    assert "Traceback" not in answer.stderr
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]


# --- Errors: stderr, exit 1, one line; no database created unasked --------------------


def test_token_with_a_wrong_data_folder_refuses_and_creates_nothing(tmp_path: Path) -> None:
    wrong = tmp_path / "not-the-data-folder"
    answer = jobrunner("token", "--user", "user_admin", env=command_env(JOBRUNNER_DATA_DIR=str(wrong)))
    assert_one_line_error(answer, "no database in", str(wrong / "pgdata"))
    assert not wrong.exists()  # no database, no generated secret, not even the folder


def test_commands_that_cannot_reach_the_database_say_so_in_one_line(tmp_path: Path) -> None:
    refused = f"postgresql://postgres@127.0.0.1:{free_port()}/jobrunner"
    env = command_env(DATABASE_URL=refused, JOBRUNNER_JWT_SECRET=JWT_SECRET, JOBRUNNER_DATA_DIR=str(tmp_path))
    for command in (["migrate"], ["demo-data", "--quotes", "1"], ["token", "--user", "user_admin"]):
        assert_one_line_error(jobrunner(*command, env=env, timeout=60), "cannot reach the database", "DATABASE_URL")


def test_token_on_a_database_without_tables_says_to_migrate(empty_database_url: str) -> None:
    env = command_env(DATABASE_URL=empty_database_url, JOBRUNNER_JWT_SECRET=JWT_SECRET)
    assert_one_line_error(jobrunner("token", "--user", "user_admin", env=env), "jobrunner migrate")


def test_an_unknown_user_and_an_invalid_setting_are_one_line_on_stderr(database_url: str) -> None:
    env = command_env(DATABASE_URL=database_url, JOBRUNNER_JWT_SECRET=JWT_SECRET)
    assert_one_line_error(jobrunner("token", "--user", "nobody", env=env), "no user 'nobody'")
    assert_one_line_error(
        jobrunner("migrate", env={**env, "JOBRUNNER_POOL_MAX_SIZE": "many"}), "JOBRUNNER_POOL_MAX_SIZE"
    )
    assert_one_line_error(jobrunner("jobs", "list", env={**env, "PORT": "abc"}), "PORT")


# --- The HTTP commands find the service on PORT -----------------------------------------


def test_the_http_commands_find_the_service_on_port(database_url: str) -> None:
    with running_service(database_url) as service:
        port = str(urlsplit(service.url).port)
        env = command_env(PORT=port, JOBRUNNER_TOKEN=service.token())
        listed = jobrunner("jobs", "list", "--json", env=env)
        assert listed.returncode == 0, listed.stderr
        assert json.loads(listed.stdout)["total"] == 0
        # JOBRUNNER_URL still decides over PORT.
        elsewhere = jobrunner("jobs", "list", env={**env, "JOBRUNNER_URL": f"http://127.0.0.1:{free_port()}"})
        assert_one_line_error(elsewhere, "Could not reach the service")


# --- A second run on a busy port ----------------------------------------------------------


async def _tables(url: str) -> int:
    conn = await asyncpg.connect(url)
    try:
        return await conn.fetchval("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")
    finally:
        await conn.close()


@pytest.mark.parametrize("command", ["run", "serve"])
def test_a_busy_port_is_said_before_migrating_or_printing_tokens(
    command: str, empty_database_url: str, tmp_path: Path
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = command_env(
            PORT=str(port),
            DATABASE_URL=empty_database_url,
            JOBRUNNER_DATA_DIR=str(tmp_path),
            JOBRUNNER_DEMO_MODE="true",
            JOBRUNNER_JWT_SECRET=JWT_SECRET,
        )
        answer = jobrunner(command, env=env, timeout=60)
    assert_one_line_error(answer, f"port {port}", "in use")
    assert asyncio.run(_tables(empty_database_url)) == 0  # not migrated
    assert "eyJ" not in answer.stdout + answer.stderr


# --- The embedded PostgreSQL is stopped on every way out ----------------------------------


def handles(pgdata: Path) -> list[int]:
    path = pgdata / ".handle_pids.json"
    return json.loads(path.read_text()) if path.exists() else []


def start(command: str, data_dir: Path, port: int, **env: str) -> subprocess.Popen[str]:
    """``jobrunner COMMAND`` on the embedded database, in its own session (so signals
    reach only it, not PostgreSQL); what it prints goes to ``data_dir``'s sibling
    ``output.log`` (see ``printed``)."""
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    with open(data_dir.parent / "output.log", "w") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "jobrunner.cli", command],
            env=command_env(PORT=str(port), JOBRUNNER_DATA_DIR=str(data_dir), **env),
            cwd=REPO_ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )


def printed(data_dir: Path) -> str:
    return (data_dir.parent / "output.log").read_text()


def migrate(data_dir: Path) -> None:
    migrated = jobrunner("migrate", env=command_env(JOBRUNNER_DATA_DIR=str(data_dir)))
    assert migrated.returncode == 0, migrated.stderr


def wait_healthy(process: subprocess.Popen[str], data_dir: Path, port: int) -> None:
    wait_until_healthy(process, f"http://127.0.0.1:{port}", lambda: printed(data_dir))


@pytest.fixture
def data_dir(tmp_path: Path) -> Iterator[Path]:
    """A data folder for the embedded database; whatever PostgreSQL a failing test leaves
    serving it is stopped (fast shutdown) so as not to linger on the machine."""
    data_dir = tmp_path / "data"
    yield data_dir
    for process in postgres_serving(data_dir / "pgdata"):
        process.send_signal(signal.SIGINT)


def assert_nothing_left(pgdata: Path, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while postgres_serving(pgdata) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not postgres_serving(pgdata), f"PostgreSQL still serves {pgdata}"
    assert handles(pgdata) == []
    assert not (pgdata / "postmaster.pid").exists()


@pytest.mark.slow
@pytest.mark.parametrize(("command", "sig"), [("run", signal.SIGTERM), ("serve", signal.SIGINT)])
def test_a_signal_stops_the_embedded_database(command: str, sig: signal.Signals, data_dir: Path) -> None:
    port = free_port()
    if command == "serve":
        migrate(data_dir)
    process = start(command, data_dir, port)
    try:
        wait_healthy(process, data_dir, port)
        assert postgres_serving(data_dir / "pgdata") and handles(data_dir / "pgdata") == [process.pid]
        process.send_signal(sig)
        process.wait(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    output = printed(data_dir)
    assert process.returncode >= 0, output  # it unwound (exit handlers ran) instead of dying of the signal
    if command == "run":
        assert f"jobs page: http://127.0.0.1:{port}/\n" in output  # the banner names the page
    assert_nothing_left(data_dir / "pgdata")


@pytest.mark.slow
def test_a_failed_start_up_stops_the_embedded_database(data_dir: Path) -> None:
    port = free_port()
    process = start("serve", data_dir, port, JOBRUNNER_IMPORTS="jobrunner_no_such_module")
    assert process.wait(timeout=120) != 0, printed(data_dir)
    assert (data_dir / "pgdata" / "PG_VERSION").exists()  # it had started
    assert_nothing_left(data_dir / "pgdata")


@pytest.mark.slow
def test_a_killed_process_does_not_keep_the_embedded_database_running(data_dir: Path) -> None:
    port = free_port()
    pgdata = data_dir / "pgdata"
    migrate(data_dir)
    process = start("serve", data_dir, port)
    try:
        wait_healthy(process, data_dir, port)
    finally:
        process.kill()  # SIGKILL: no clean-up at all
        process.wait()
    assert postgres_serving(pgdata) and handles(pgdata) == [process.pid]
    # The next command attaches to the orphaned server and, as its last user, stops it.
    migrate(data_dir)
    assert_nothing_left(pgdata)
