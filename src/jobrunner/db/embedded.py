"""The embedded default database: a real PostgreSQL from the ``pgserver`` wheel, kept in
``JOBRUNNER_DATA_DIR/pgdata`` so data persists across restarts. Used only when no
``DATABASE_URL`` is given.

pgserver counts the processes using a server in ``pgdata/.handle_pids.json`` and stops the
server when the last one leaves (at exit). Two things keep that count true here: handles
of processes that died without leaving (SIGKILL, a crash) are dropped before a new one
is added, and ``stop_embedded`` leaves on every way out of a process (normal exit, an
exception, and SIGTERM/SIGINT once the CLI turns them into ``SystemExit``)."""

from __future__ import annotations

import atexit
import logging
import os
import signal
import subprocess
from pathlib import Path
from typing import Protocol
from urllib.parse import quote

from jobrunner.domain.errors import ConfigurationError

log = logging.getLogger(__name__)

DATABASE_NAME = "jobrunner"
HANDLES_FILE = ".handle_pids.json"  # pgserver's list of the pids holding a handle


class _Handle(Protocol):
    """What this module uses of a pgserver handle."""

    def cleanup(self) -> None: ...


_servers: list[_Handle] = []  # this process's handles, left by stop_embedded


def pgdata_of(data_dir: Path) -> Path:
    return Path(data_dir).resolve() / "pgdata"


def embedded_database_exists(data_dir: Path) -> bool:
    """True when ``data_dir`` holds an embedded PostgreSQL (created by an earlier run)."""
    return (pgdata_of(data_dir) / "PG_VERSION").exists()


def start_embedded(data_dir: Path) -> str:
    """Start (or attach to) the embedded server and return a URL for its ``jobrunner`` database."""
    data_dir = Path(data_dir).resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    runtime_dir = data_dir / "run"
    runtime_dir.mkdir(mode=0o700, exist_ok=True)
    os.environ.setdefault("XDG_RUNTIME_DIR", str(runtime_dir))
    import pgserver  # imported late: only this path needs it

    pgdata = pgdata_of(data_dir)
    _forget_dead_handles(pgdata)
    try:
        server = _get_server(pgserver, pgdata)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired):
        raise ConfigurationError(
            f"the embedded PostgreSQL in {pgdata} did not start (its log: {pgdata / 'log'})"
        ) from None
    if not _servers:
        # Registered after pgserver's own exit handler, so it runs first (atexit is LIFO).
        atexit.register(stop_embedded)
    _servers.append(server)
    exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE_NAME}';")
    if "(1 row)" not in exists:
        server.psql(f"CREATE DATABASE {DATABASE_NAME};")
    socket_dir = _socket_dir(server.get_uri())
    log.info("embedded PostgreSQL running in %s", pgdata)
    return f"postgresql://postgres@/{DATABASE_NAME}?host={quote(socket_dir, safe='/')}"


def stop_embedded() -> None:
    """Give up this process's handles: the server stops when this process was its last
    user. Idempotent; SIGTERM and SIGINT wait while it runs, so a second Ctrl-C cannot
    leave the server half-stopped."""
    if not _servers:
        return
    previous = {sig: signal.signal(sig, signal.SIG_IGN) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        while _servers:
            _servers.pop().cleanup()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _forget_dead_handles(pgdata: Path) -> None:
    """Drop the pids of processes that are gone from pgserver's handle list (under its
    inter-process lock): a process killed without cleaning up would otherwise keep the
    server from ever being stopped again."""
    import psutil
    from pgserver.postgres_server import PostgresServer
    from pgserver.utils import DiskList

    if not (pgdata / HANDLES_FILE).exists():
        return
    with PostgresServer._lock:
        handles = DiskList(pgdata / HANDLES_FILE)
        pids = handles.get()
        alive = [pid for pid in pids if psutil.pid_exists(pid)]
        if alive != pids:
            log.info("embedded PostgreSQL: forgetting handles of ended processes %s", sorted(set(pids) - set(alive)))
            handles.put(alive)


def _get_server(pgserver, pgdata: Path, attempts: int = 3):
    """pgserver gives ``pg_ctl start`` 10 s; a busy machine (or crash recovery after an
    unclean stop) can take longer. The server goes on starting, so asking again attaches
    to it once it is ready."""
    for attempt in range(1, attempts + 1):
        try:
            return pgserver.get_server(pgdata, cleanup_mode="stop")
        except subprocess.TimeoutExpired:
            if attempt == attempts:
                raise
            log.warning("embedded PostgreSQL is slow to start; waiting for it (attempt %d)", attempt)


def _socket_dir(uri: str) -> str:
    # pgserver answers postgresql://postgres:@/postgres?host=<socket dir>
    return uri.split("host=", 1)[1].split("&", 1)[0]


def resolve_database_url(database_url: str | None, data_dir: Path) -> str:
    return database_url or start_embedded(data_dir)
