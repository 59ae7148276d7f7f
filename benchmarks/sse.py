"""Push against poll (issue 14): N concurrent clients on ONE API process (uvicorn, uvloop,
httptools, no worker) watching J running jobs whose progress a "worker" writes (the
worker's own write_progress statement, each job every --update-interval seconds, spread
evenly), first over server-sent events (GET /v1/jobs/{id}/events), then polling the status
endpoint the way the service asks (Retry-After: 5 s while running; If-None-Match).

Printed per mode: database connections the API holds (peak, from pg_stat_activity), the
API's RSS (idle before the clients, peak with them), its CPU seconds over the window, and
the delay from the database change (the job's updated_at, the write's transaction start)
to the moment a client holds the new state: p50, p99, max; for polling also the share of
changes no client ever saw (a newer one came first).

    python benchmarks/sse.py                               # 2000 clients, 200 jobs, 30 s each
    python benchmarks/sse.py --clients 200 --seconds 10    # quick check

Clients are raw asyncio connections in this process (HTTP/1.1, keep-alive), so that the
client side costs little next to the API.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import signal
import socket
import statistics
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import asyncpg
import psutil

from common import DEFAULT_SERVER, fresh_database

HERE = Path(__file__).resolve().parent
SECRET = "benchmark-secret-0123456789-0123456789-0123456789"
WRITER = "bench-writer"
UPDATED_AT = re.compile(rb'"updatedAt":"([0-9T:.\-]+)Z"')

RUNNING = """
INSERT INTO jobs (organization_id, user_id, job_type, payload, total_steps, status, locked_by,
                  locked_at, started_at, attempts, progress, current_step)
SELECT o, 'u_' || o, 'export_report', '{"reportType": "quotes", "format": "csv"}', 6, 'running',
       $2, now(), now(), 1, 1, 1
  FROM (SELECT 'org_b' || lpad((i % $3)::text, 3, '0') AS o FROM generate_series(1, $1) i) s
RETURNING id::text, organization_id, user_id"""


def bench_app():
    """uvicorn --factory entry point: jobrunner's app as served, without a worker."""
    from jobrunner.app import create_app
    from jobrunner.observability.logs import configure_logging
    from jobrunner.settings import Settings

    settings = Settings()
    configure_logging("warning", "json")
    return create_app(settings, os.environ["BENCH_DATABASE_URL"], SECRET)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _serve(port: int, database_url: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "BENCH_DATABASE_URL": database_url, "PYTHONPATH": os.pathsep.join([str(HERE), *sys.path])}
    command = [
        sys.executable, "-m", "uvicorn", "--factory", "sse:bench_app", "--app-dir", str(HERE),
        "--host", "127.0.0.1", "--port", str(port), "--loop", "uvloop", "--http", "httptools",
        "--no-access-log", "--log-level", "warning", "--backlog", "4096", "--timeout-graceful-shutdown", "5",
    ]  # fmt: skip
    process = subprocess.Popen(command, env=env, start_new_session=True)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return process
        except OSError:
            if process.poll() is not None:
                raise SystemExit(f"the API exited with {process.returncode}") from None
            time.sleep(0.2)
    process.kill()
    raise SystemExit("the API did not start")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    try:
        process.wait(15)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def _ms(stamp: bytes) -> float:
    return datetime.fromisoformat(stamp.decode() + "+00:00").timestamp() * 1000


class Tally:
    """What the clients saw: per client, (when it got it, the job version's updated_at)."""

    def __init__(self) -> None:
        self.seen: dict[int, list[tuple[float, float]]] = {}
        self.opened = 0
        self.requests = 0
        self.not_modified = 0

    def saw(self, client: int, updated_ms: float) -> None:
        self.seen.setdefault(client, []).append((time.time() * 1000, updated_ms))


def delays_to_learn(
    seen: dict[int, list[tuple[float, float]]], targets: list[str], written: dict[str, list[float]]
) -> tuple[list[float], int]:
    """Per client and per change of its job: how long until the client held that state or
    a newer one (the change's delay as that client experienced it); and how many changes
    a client never learned of."""
    delays: list[float] = []
    missed = 0
    for client, job_id in enumerate(targets):
        observations = sorted(seen.get(client, []))
        for change in written.get(job_id, []):
            # updated_at is the write's transaction start, in whole ms (a little before
            # the updater's clock read after sending it is not possible; allow rounding).
            first = next((at for at, version in observations if version >= change - 2 and at >= change), None)
            if first is None:
                missed += 1
            else:
                delays.append(first - change)
    return sorted(delays), missed


def _request(port: int, path: str, token: str, extra: str = "") -> bytes:
    return (
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: Bearer {token}\r\n{extra}\r\n"
    ).encode()


async def sse_client(port: int, client: int, job_id: str, token: str, tally: Tally, stop: asyncio.Event) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(_request(port, f"/v1/jobs/{job_id}/events", token, "Accept: text/event-stream\r\n"))
    buffer = b""
    opened = False
    try:
        while not stop.is_set():
            chunk = await reader.read(65536)
            if not chunk:
                break
            buffer += chunk
            end = 0
            for match in UPDATED_AT.finditer(buffer):
                if not opened:
                    opened = True
                    tally.opened += 1
                tally.saw(client, _ms(match.group(1)))
                end = match.end()
            buffer = buffer[end:]  # what follows the last complete stamp (may hold the start of one)
    finally:
        writer.close()


async def poll_client(port: int, client: int, job_id: str, token: str, tally: Tally, stop: asyncio.Event) -> None:
    """Polls as the service asks; a keep-alive connection the server closed while idle
    (uvicorn: after 5 s) is opened again, as a browser would."""
    connection: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
    etag = None
    await asyncio.sleep(random.random() * 5)  # pollers spread over the interval
    try:
        while not stop.is_set():
            extra = f"If-None-Match: {etag}\r\n" if etag else ""
            try:
                if connection is None:
                    connection = await asyncio.open_connection("127.0.0.1", port)
                reader, writer = connection
                writer.write(_request(port, f"/v1/jobs/{job_id}/status", token, extra))
                head = await reader.readuntil(b"\r\n\r\n")
            except (asyncio.IncompleteReadError, ConnectionError):
                if connection is not None:
                    connection[1].close()
                connection = None
                continue
            status = int(head.split(b" ", 2)[1])
            headers = dict(line.split(b": ", 1) for line in head.split(b"\r\n")[1:] if b": " in line)
            length = int(headers.get(b"content-length", b"0"))
            body = await reader.readexactly(length) if length else b""
            tally.requests += 1
            if status == 304:
                tally.not_modified += 1
            elif status == 200:
                if etag is None:
                    tally.opened += 1
                match = UPDATED_AT.search(body)
                if match:
                    tally.saw(client, _ms(match.group(1)))
            etag = headers.get(b"etag", b"").decode() or etag
            wait = float(headers.get(b"retry-after", b"5"))
            try:
                await asyncio.wait_for(stop.wait(), wait)
            except TimeoutError:
                pass
    finally:
        if connection is not None:
            connection[1].close()


async def updater(
    url: str, jobs: list[str], interval: float, stop: asyncio.Event, written: dict[str, list[float]]
) -> None:
    """Each job's progress written every ``interval`` seconds, spread evenly (ticks of
    50 ms), with the worker's own statement."""
    from jobrunner.db.pool import connect
    from jobrunner.db.sql import Q

    conn = await connect(url)
    await conn.execute("SET application_name = 'bench'")
    tick = 0.05
    per_tick = max(1, round(len(jobs) * tick / interval))
    step = 0
    try:
        next_at = time.monotonic()
        while not stop.is_set():
            batch = [jobs[(step * per_tick + i) % len(jobs)] for i in range(per_tick)]
            progress = min(99, 1 + step * per_tick // len(jobs))
            now_ms = time.time() * 1000
            for job_id in batch:
                written.setdefault(job_id, []).append(now_ms)
            await conn.execute(
                Q.write_progress, WRITER, batch, [progress] * len(batch), [2] * len(batch), ["Work"] * len(batch)
            )
            step += 1
            next_at += tick
            await asyncio.sleep(max(0.0, next_at - time.monotonic()))
    finally:
        await conn.close()


async def sampler(url: str, api: psutil.Process, stop: asyncio.Event, peaks: dict[str, float]) -> None:
    conn = await asyncpg.connect(url, server_settings={"application_name": "bench"})
    try:
        while not stop.is_set():
            count = await conn.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                " AND backend_type = 'client backend' AND application_name <> 'bench'"
            )
            peaks["db_connections"] = max(peaks.get("db_connections", 0), count)
            peaks["rss_mb"] = max(peaks.get("rss_mb", 0), api.memory_info().rss / 2**20)
            try:
                await asyncio.wait_for(stop.wait(), 0.5)
            except TimeoutError:
                pass
    finally:
        await conn.close()


async def run_mode(mode: str, args: argparse.Namespace, url: str, jobs: list[tuple[str, str]]) -> dict:
    from jobrunner.auth.tokens import issue_token

    port = _free_port()
    process = _serve(port, url)
    api = psutil.Process(process.pid)
    try:
        await asyncio.sleep(1.0)
        idle_rss = api.memory_info().rss / 2**20
        tokens = {user: issue_token(SECRET, user, org, 3600) for _, (org, user) in jobs}
        tally, stop_clients, stop_window = Tally(), asyncio.Event(), asyncio.Event()
        client = sse_client if mode == "push" else poll_client
        targets = [jobs[i % len(jobs)] for i in range(args.clients)]
        tasks = []
        for index, (job_id, (_, user)) in enumerate(targets):
            tasks.append(asyncio.create_task(client(port, index, job_id, tokens[user], tally, stop_clients)))
            if index % 100 == 99:
                await asyncio.sleep(0.05)  # connect in waves, as users arrive
        deadline = time.monotonic() + 60
        while tally.opened < args.clients and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        opened = tally.opened
        peaks: dict[str, float] = {}
        written: dict[str, list[float]] = {}
        cpu_before = sum(api.cpu_times()[:2])
        tally.requests = tally.not_modified = 0
        background = [
            asyncio.create_task(updater(url, [j for j, _ in jobs], args.update_interval, stop_window, written)),
            asyncio.create_task(sampler(url, api, stop_window, peaks)),
        ]
        await asyncio.sleep(args.seconds)
        stop_window.set()
        await asyncio.gather(*background)
        cpu = sum(api.cpu_times()[:2]) - cpu_before
        await asyncio.sleep(6.0)  # every client may learn of the last changes (pollers: 5 s)
        stop_clients.set()
        failed = [task.exception() for task in tasks if task.done() and not task.cancelled() and task.exception()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if failed:
            print(f"{mode}: {len(failed)} clients failed, e.g. {failed[0]!r}", file=sys.stderr)
    finally:
        _stop(process)
    delays, missed = delays_to_learn(tally.seen, [job_id for job_id, _ in targets], written)
    result = {
        "mode": mode,
        "clients_connected": opened,
        "db_connections_peak": int(peaks.get("db_connections", 0)),
        "api_rss_idle_mb": round(idle_rss, 1),
        "api_rss_peak_mb": round(peaks.get("rss_mb", 0), 1),
        "api_cpu_s": round(cpu, 1),
        "changes_written": sum(len(times) for times in written.values()),
        "client_changes": len(delays) + missed,
        "delay_p50_ms": round(delays[len(delays) // 2], 1) if delays else None,
        "delay_p99_ms": round(delays[min(len(delays) - 1, int(len(delays) * 0.99))], 1) if delays else None,
        "delay_max_ms": round(delays[-1], 1) if delays else None,
        "never_learned": missed,
    }
    if mode == "poll":
        result["requests"] = tally.requests
        result["not_modified"] = tally.not_modified
    if delays:
        result["delay_mean_ms"] = round(statistics.fmean(delays), 1)
    # A state older than the window (the snapshot) is no change.
    return result


async def main_async(args: argparse.Namespace) -> None:
    url = await fresh_database(args.server, args.database, args.orgs)
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(
            "INSERT INTO user_roles (organization_id, user_id, role_name)"
            " SELECT id, 'u_' || id, 'member' FROM organizations"
        )
        rows = await conn.fetch(RUNNING, args.jobs, WRITER, args.orgs)
    finally:
        await conn.close()
    jobs = [(row["id"], (row["organization_id"], row["user_id"])) for row in rows]
    results = [await run_mode(mode, args, url, jobs) for mode in args.modes.split(",")]
    print(json.dumps({"bench": "sse", "clients": args.clients, "jobs": args.jobs, "seconds": args.seconds,
                      "update_interval_s": args.update_interval, "results": results}))  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=2000)
    parser.add_argument("--jobs", type=int, default=200)
    parser.add_argument("--orgs", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--update-interval", type=float, default=2.0, help="seconds between writes of one job")
    parser.add_argument("--modes", default="push,poll")
    parser.add_argument("--server", default=os.environ.get("BENCH_SERVER_URL", DEFAULT_SERVER))
    parser.add_argument("--database", default="jobrunner_bench_sse")
    args = parser.parse_args()
    asyncio.run(main_async(args))


if __name__ == "__main__":
    main()
