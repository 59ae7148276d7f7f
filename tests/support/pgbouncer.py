"""PgBouncer in transaction mode in front of the test server, started on a free loopback
port with a generated configuration (Debian's ``pgbouncer``; installed here if absent)."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from tests.support.processes import free_port

CONFIG = """\
[databases]
* = host={host} port={port}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {listen_port}
unix_socket_dir =
auth_type = trust
auth_file = {folder}/userlist.txt
pool_mode = transaction
default_pool_size = {pool_size}
max_client_conn = 500
server_reset_query =
ignore_startup_parameters = extra_float_digits
admin_users = postgres
logfile = {folder}/pgbouncer.log
pidfile = {folder}/pgbouncer.pid
"""


def ensure_installed() -> str:
    found = shutil.which("pgbouncer") or shutil.which("pgbouncer", path="/usr/sbin")
    if found is None:
        subprocess.run(["apt-get", "install", "-y", "-qq", "pgbouncer"], check=True, capture_output=True)
        found = shutil.which("pgbouncer") or shutil.which("pgbouncer", path="/usr/sbin")
    assert found, "pgbouncer is not installed and apt-get could not install it"
    return found


@contextlib.contextmanager
def pgbouncer(server_url: str, pool_size: int = 4) -> Iterator[int]:
    """Runs PgBouncer (transaction mode, ``pool_size`` server connections per database)
    in front of ``server_url``'s server; yields its port. Runs as the ``postgres`` user
    when started as root (PgBouncer refuses root), in a folder of its own."""
    binary = ensure_installed()
    server = urlsplit(server_url)
    folder = Path(tempfile.mkdtemp(prefix="jobrunner-pgbouncer-"))
    port = free_port()
    (folder / "userlist.txt").write_text('"postgres" ""\n')
    config = folder / "pgbouncer.ini"
    config.write_text(
        CONFIG.format(
            host=server.hostname, port=server.port or 5432, listen_port=port, folder=folder, pool_size=pool_size
        )
    )
    command = [binary, str(config)]
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres")
        for path in folder.iterdir():
            shutil.chown(path, "postgres")
        command = [binary, "-u", "postgres", str(config)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 15
        while True:
            assert process.poll() is None, f"pgbouncer exited (see {folder}/pgbouncer.log)"
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
                break
            assert time.monotonic() < deadline, "pgbouncer did not start"
            time.sleep(0.05)
        yield port
    finally:
        process.terminate()
        process.wait(10)
        shutil.rmtree(folder, ignore_errors=True)


def through(url: str, port: int) -> str:
    """``url`` with its host and port replaced by the bouncer's."""
    parts = urlsplit(url)
    user = f"{parts.username}@" if parts.username else ""
    return urlunsplit(parts._replace(netloc=f"{user}127.0.0.1:{port}"))
