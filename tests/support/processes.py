"""Running jobrunner commands as real processes in tests."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import httpx
import psutil

REPO_ROOT = Path(__file__).resolve().parents[2]


def command_env(**overrides: str | None) -> dict[str, str]:
    """The test process's environment without jobrunner's own settings, plus overrides
    (a value of None removes the variable)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("JOBRUNNER_") and k not in ("DATABASE_URL", "PORT")}
    for key, value in overrides.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


def jobrunner(*args: str, env: Mapping[str, str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "jobrunner.cli", *args],
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=REPO_ROOT,
    )


def postgres_serving(pgdata: Path) -> list[psutil.Process]:
    """The embedded PostgreSQL processes (postmasters) serving ``pgdata``."""
    found = []
    for process in psutil.process_iter(["name", "cmdline"]):
        if process.info["name"] == "postgres" and str(pgdata) in (process.info["cmdline"] or []):
            found.append(process)
    return found


def wait_until_healthy(
    process: subprocess.Popen, base_url: str, output: Callable[[], str], timeout: float = 90
) -> None:
    """Polls ``base_url/healthz`` until it answers 200; fails with ``output()`` (what the
    process printed) when the process exits first or the time runs out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, output()
        try:
            if httpx.get(f"{base_url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.3)
    raise AssertionError(f"no /healthz within {timeout:.0f} s:\n{output()}")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def serving_in_thread(app: Any, timeout: float = 30) -> Iterator[str]:
    """``app`` served by uvicorn in a thread on a free loopback port (its lifespan run
    there); yields the base URL."""
    import threading

    import uvicorn

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)
