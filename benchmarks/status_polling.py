"""Status polling under load: jobrunner's GET /v1/jobs/{id}/status against a bare
Starlette + asyncpg baseline doing the same single-row SELECT.

Creates a bench database, migrates, seeds the demo identities, inserts jobs, then serves
each app in ONE uvicorn process (uvloop + httptools, no worker) and drives it with wrk:
N concurrent pollers, random job ids, a valid bearer token. Prints requests/s, p50 and
p99 side by side and the ratio. Targets: jobrunner >= 60% of the baseline's requests/s,
p99 < 50 ms.

    python benchmarks/status_polling.py                      # full run: 50 pollers, 30 s each
    python benchmarks/status_polling.py --seconds 5          # quick check
    python benchmarks/status_polling.py --finished 1000000   # next to a million finished jobs

Needs wrk (Debian: ``apt-get install -y wrk``) and PostgreSQL (``--server-url``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg

HERE = Path(__file__).resolve().parent
SECRET = "benchmark-secret-0123456789-0123456789-0123456789"
USER, ORG = "user_admin", "org_acme"

LUA = """
local ids = {%(ids)s}
local headers = {["Authorization"] = "Bearer %(token)s"}
local counter = 0
setup = function(thread) counter = counter + 1; thread:set("seed", counter) end
init = function(args) math.randomseed(os.time() + (seed or 0)) end
request = function()
  return wrk.format("GET", "/v1/jobs/" .. ids[math.random(#ids)] .. "/status", headers)
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'RESULT {"requests": %%d, "duration_us": %%d, "p50_us": %%d, "p99_us": %%d, "errors": %%d, "non2xx": %%d}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.connect + e.read + e.write + e.timeout, e.status))
end
"""


def jobrunner_app():
    """uvicorn --factory entry point: jobrunner's app exactly as served, without a worker."""
    from jobrunner.app import create_app
    from jobrunner.settings import Settings

    settings = Settings(pool_max_size=int(os.environ.get("BENCH_POOL_SIZE", "10")))
    try:  # as `jobrunner serve` logs: one JSON line per request (to the bench's /dev/null)
        from jobrunner.observability.logs import configure_logging
    except ImportError:  # a tree from before issue 11 (side-by-side runs)
        pass
    else:
        configure_logging(settings.log_level, "json")
    return create_app(settings, os.environ["BENCH_DATABASE_URL"], SECRET)


def _with_database(url: str, name: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path="/" + name))


# Finished jobs of the same user (the worst case for the owner's indexes), as retention
# would keep them: the polled jobs sit among a million old rows.
FINISHED = """
INSERT INTO jobs (organization_id, user_id, job_type, payload, total_steps, status, progress,
                  started_at, completed_at, created_at, attempts)
SELECT $2, $3, 'export_report', '{"reportType": "quotes", "format": "csv"}', 6, 'succeeded', 100,
       now() - interval '2 days', now() - interval '2 days', now() - interval '2 days', 1
  FROM generate_series(1, $1)"""


async def _prepare_database(server_url: str, name: str, jobs: int, finished: int = 0) -> list[str]:
    from jobrunner.db import migrate
    from jobrunner.db.jobs_repository import JobsRepository, NewJob
    from jobrunner.db.pool import create_pool
    from jobrunner.db.seed import seed_identities

    admin = await asyncpg.connect(server_url)
    await admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    await admin.execute(f"CREATE DATABASE {name}")
    await admin.close()
    url = _with_database(server_url, name)
    await asyncio.to_thread(migrate.upgrade, url)
    pool = await create_pool(url, min_size=1, max_size=4)
    try:
        async with pool.acquire() as conn:
            await seed_identities(conn)
            if finished:
                await conn.execute(FINISHED, finished, ORG, USER)
                await conn.execute("VACUUM ANALYZE jobs")
        repo = JobsRepository(pool)
        payload = {"reportType": "quotes", "format": "csv", "filters": {"dateFrom": "2024-01-01"}}
        ids = []
        for index in range(jobs):
            job = NewJob(ORG, USER, "export_report", index % 11, 3, payload, 6, None)
            ids.append(str(await repo.create(job)))
    finally:
        await pool.close()
    return ids


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _serve(factory: str, port: int, env: dict[str, str]) -> subprocess.Popen:
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        "--factory",
        factory,
        "--app-dir",
        str(HERE),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--loop",
        "uvloop",
        "--http",
        "httptools",
        "--no-access-log",
        "--log-level",
        "warning",
        "--workers",
        "1",
    ]
    process = subprocess.Popen(command, env=env)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return process
        except OSError:
            if process.poll() is not None:
                raise SystemExit(f"{factory} exited with {process.returncode}") from None
            time.sleep(0.2)
    process.kill()
    raise SystemExit(f"{factory} did not start")


def _wrk(port: int, lua: Path, seconds: int, connections: int, threads: int) -> dict:
    command = [
        "wrk",
        "-t",
        str(threads),
        "-c",
        str(connections),
        "-d",
        f"{seconds}s",
        "--timeout",
        "5s",
        "-s",
        str(lua),
        f"http://127.0.0.1:{port}",
    ]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    line = next(l for l in output.splitlines() if l.startswith("RESULT "))
    result = json.loads(line.removeprefix("RESULT "))
    result["rps"] = result["requests"] / (result["duration_us"] / 1e6)
    return result


def _cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a process (Linux), to report CPU per request: a figure
    that other load on the machine disturbs far less than requests/s."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _measure(name: str, factory: str, env: dict, lua: Path, args: argparse.Namespace, sample_id: str) -> dict:
    port = _free_port()
    process = _serve(factory, port, env)
    try:
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/v1/jobs/{sample_id}/status",
            headers={"Authorization": f"Bearer {env['BENCH_TOKEN']}"},
        )
        with urllib.request.urlopen(request, timeout=5) as response:
            assert response.status == 200, f"{name}: {response.status}"
        _wrk(port, lua, args.warmup, args.connections, args.threads)
        cpu_before = _cpu_seconds(process.pid)
        result = _wrk(port, lua, args.seconds, args.connections, args.threads)
        cpu_after = _cpu_seconds(process.pid)
        if cpu_before is not None and cpu_after is not None and result["requests"]:
            result["cpu_us"] = (cpu_after - cpu_before) * 1e6 / result["requests"]
        return result
    finally:
        process.terminate()
        process.wait(timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--server-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--database", default="jobrunner_bench_status_polling")
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--seconds", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--pool-size", type=int, default=10)
    parser.add_argument("--finished", type=int, default=0, help="finished jobs in the table next to the polled ones")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get install -y wrk (Debian/Ubuntu) or brew install wrk")

    from jobrunner.auth.tokens import issue_token

    ids = asyncio.run(_prepare_database(args.server_url, args.database, args.jobs, args.finished))
    token = issue_token(SECRET, USER, ORG, ttl_seconds=24 * 3600)
    env = {
        **os.environ,
        "BENCH_DATABASE_URL": _with_database(args.server_url, args.database),
        "BENCH_POOL_SIZE": str(args.pool_size),
        "BENCH_TOKEN": token,
    }
    with tempfile.TemporaryDirectory() as tmp:
        lua = Path(tmp) / "poll.lua"
        lua.write_text(LUA % {"ids": ",".join(f'"{i}"' for i in ids), "token": token})
        baseline = _measure("baseline", "baseline_starlette:app", env, lua, args, ids[0])
        ours = _measure("jobrunner", "status_polling:jobrunner_app", env, lua, args, ids[0])

    print(
        f"\nstatus polling: {args.connections} pollers, {args.seconds} s, {args.jobs} jobs"
        f" (+{args.finished} finished), one uvicorn process each"
    )
    print(f"{'':12}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}{'errors':>8}{'non-2xx':>9}{'CPU us/req':>12}")
    for name, result in (("baseline", baseline), ("jobrunner", ours)):
        print(
            f"{name:12}{result['rps']:>10.0f}{result['p50_us'] / 1000:>10.2f}{result['p99_us'] / 1000:>10.2f}"
            f"{result['errors']:>8}{result['non2xx']:>9}{result.get('cpu_us', float('nan')):>12.0f}"
        )
    ratio = ours["rps"] / baseline["rps"]
    p99_ms = ours["p99_us"] / 1000
    print(f"\njobrunner / baseline: {ratio:.0%} of the baseline's requests/s (target >= 60%)")
    print(f"jobrunner p99: {p99_ms:.1f} ms (target < 50 ms)")
    if "cpu_us" in ours and "cpu_us" in baseline:
        print(
            f"server CPU per request: baseline/jobrunner = {baseline['cpu_us'] / ours['cpu_us']:.0%} "
            "(the requests/s ratio a CPU-bound, otherwise quiet machine would show)"
        )
    print("verdict:", "PASS" if ratio >= 0.6 and p99_ms < 50 and ours["non2xx"] == 0 else "MISS")


if __name__ == "__main__":
    main()
