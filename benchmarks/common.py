"""What the engine benchmarks share: a fresh migrated database, organizations and users,
and worker processes (``python -m jobrunner.cli worker``) with the benchmark job types."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from jobrunner.db import migrate

HERE = Path(__file__).resolve().parent
DEFAULT_SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"


def database_in(server_url: str, name: str) -> str:
    return urlunsplit(urlsplit(server_url)._replace(path="/" + name))


async def fresh_database(server_url: str, name: str, orgs: int) -> str:
    """Drop and re-create ``name``, migrate it, add ``orgs`` organizations each with a user."""
    admin = await asyncpg.connect(server_url)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    url = database_in(server_url, name)
    await asyncio.to_thread(migrate.upgrade, url)
    conn = await asyncpg.connect(url)
    try:
        ids = [f"org_b{i:03d}" for i in range(orgs)]
        await conn.execute("INSERT INTO organizations (id, name) SELECT o, o FROM unnest($1::text[]) o", ids)
        await conn.execute(
            "INSERT INTO users (id, email, display_name)"
            " SELECT 'u_' || o, o || '@example.com', o FROM unnest($1::text[]) o",
            ids,
        )
        await conn.execute(
            "INSERT INTO organization_members (organization_id, user_id) SELECT o, 'u_' || o FROM unnest($1::text[]) o",
            ids,
        )
    finally:
        await conn.close()
    return url


# Workers run in their own session (so a Ctrl-C reaches only the benchmark, which stops
# them in order). A SIGTERM to the benchmark must unwind too, or its `finally: stop(...)`
# never runs and the workers keep claiming jobs from the next run's database.
signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

def spawn_worker(database_url: str, concurrency: int, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    environment = dict(os.environ)
    environment.update(
        DATABASE_URL=database_url,
        JOBRUNNER_IMPORTS="noop_processor",
        JOBRUNNER_JWT_SECRET=environment.get("JOBRUNNER_JWT_SECRET", "bench-secret-0123456789abcdef0123456789"),
        PYTHONPATH=str(HERE) + os.pathsep + environment.get("PYTHONPATH", ""),
    )
    environment.update(env or {})
    return subprocess.Popen(
        [sys.executable, "-m", "jobrunner.cli", "worker", "--concurrency", str(concurrency)],
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=None if os.environ.get("BENCH_VERBOSE") else subprocess.DEVNULL,
        start_new_session=True,
    )


def peak_rss_mb(pid: int) -> float | None:
    """VmHWM (peak resident set) of a live process, in MB."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a live process has used, in seconds (0 when it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def stop(process: subprocess.Popen[bytes], timeout: float = 20.0) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


async def wait_for_workers(conn: asyncpg.Connection, count: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while await conn.fetchval("SELECT count(*) FROM workers") < count:
        if time.monotonic() > deadline:
            raise RuntimeError("workers did not start")
        await asyncio.sleep(0.05)
