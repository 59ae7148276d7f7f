"""The embedded default database: a real PostgreSQL from the ``pgserver`` wheel, kept in
``JOBRUNNER_DATA_DIR/pgdata`` so data persists across restarts. Used only when no
``DATABASE_URL`` is given."""

from __future__ import annotations

import logging
import os
import subprocess
from pathlib import Path
from urllib.parse import quote

log = logging.getLogger(__name__)

DATABASE_NAME = "jobrunner"
_servers: list[object] = []  # keep handles alive: the server stops when the last one goes


def start_embedded(data_dir: Path) -> str:
    """Start (or attach to) the embedded server and return a URL for its ``jobrunner`` database."""
    data_dir = Path(data_dir).resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    runtime_dir = data_dir / "run"
    runtime_dir.mkdir(mode=0o700, exist_ok=True)
    os.environ.setdefault("XDG_RUNTIME_DIR", str(runtime_dir))
    import pgserver  # imported late: only this path needs it

    server = _get_server(pgserver, data_dir / "pgdata")
    _servers.append(server)
    exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE_NAME}';")
    if "(1 row)" not in exists:
        server.psql(f"CREATE DATABASE {DATABASE_NAME};")
    socket_dir = _socket_dir(server.get_uri())
    log.info("embedded PostgreSQL running in %s", data_dir / "pgdata")
    return f"postgresql://postgres@/{DATABASE_NAME}?host={quote(socket_dir, safe='/')}"


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
