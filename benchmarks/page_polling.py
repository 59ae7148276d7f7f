"""Requests per minute the jobs page sends to the service, with 200 jobs of which 20 are
running, against a naive client that polls every job every 2 seconds (200 x 30 = 6,000/min).

The real service (API + in-process worker) runs on a fresh database; a benchmark-only job
type keeps 20 jobs running (moving their progress every few seconds) while the other 180
have finished. Chromium opens the page, signs in as the member and stays open; every
request the service receives is counted at the server (an ASGI wrapper), by kind and
status code.

    .venv/bin/python benchmarks/page_polling.py                 # 60 s, the figure to quote
    .venv/bin/python benchmarks/page_polling.py --seconds 15    # a quick check

Needs PostgreSQL (--server-url, default postgresql://postgres@127.0.0.1:5432/postgres) and
/usr/bin/chromium.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import os
import threading
import time

import asyncpg
import httpx
import uvicorn
from pydantic import BaseModel

from jobrunner import JobContext, Step, job_type
from jobrunner.auth.tokens import issue_token
from jobrunner.db import migrate
from jobrunner.db.seed import seed_identities
from jobrunner.runtime import Runtime
from jobrunner.settings import Settings

SECRET = "benchmark-secret-that-is-long-enough-for-hs256-0123456789"
PROGRESS_EVERY_SECONDS = 3.0
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


class BenchPayload(BaseModel):
    seconds: float = 0.0


@job_type("bench_work", payload=BenchPayload, steps=[Step(10, "Working")], timeout_seconds=3600)
async def bench_work(ctx: JobContext[BenchPayload]) -> dict:
    """Works for ``seconds``, moving its progress every few seconds like a real export."""
    await ctx.step(1)
    seconds = ctx.payload.seconds
    end = time.monotonic() + seconds
    while (left := end - time.monotonic()) > 0:
        await asyncio.sleep(min(PROGRESS_EVERY_SECONDS, left))
        ctx.check_cancelled()
        await ctx.progress(1 - max(0.0, end - time.monotonic()) / seconds)
    return {"seconds": seconds}


class CountRequests:
    """ASGI wrapper counting every HTTP request the service answers, by kind and status."""

    def __init__(self, app) -> None:
        self.app = app
        self.counts: collections.Counter[tuple[str, int]] = collections.Counter()

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        answered: dict[str, int] = {}

        async def send_counting(message) -> None:
            if message["type"] == "http.response.start":
                answered["status"] = message["status"]
            await send(message)

        await self.app(scope, receive, send_counting)
        self.counts[(kind(scope["path"]), answered.get("status", 0))] += 1


def kind(path: str) -> str:
    if path.startswith("/v1/jobs/") and path.endswith("/status"):
        return "status"
    if path == "/v1/jobs":
        return "list"
    return "page/other"


async def admin(server_url: str, sql: str) -> None:
    conn = await asyncpg.connect(server_url)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def seed(url: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        await seed_identities(conn)
    finally:
        await conn.close()


def wait_for(api: httpx.Client, status: str, count: int, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while api.get("/v1/jobs", params={"status": status, "pageSize": 1}).json()["total"] < count:
        if time.monotonic() > deadline:
            raise SystemExit(f"fewer than {count} jobs {status} after {timeout} s")
        time.sleep(0.5)


def create_jobs(api: httpx.Client, count: int, seconds: float) -> None:
    for _ in range(count):
        answer = api.post("/v1/jobs", json={"jobType": "bench_work", "payload": {"seconds": seconds}})
        answer.raise_for_status()


def measure(url: str, seconds: float, counter: CountRequests) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=CHROMIUM_ARGS)
        page = browser.new_page()
        counter.counts.clear()
        page.goto(url + "/")
        page.get_by_role("button", name="Max Member").click()
        page.locator('#jobs[aria-busy="false"]').wait_for(state="attached")
        on_screen = page.locator("li.job").count()
        time.sleep(seconds)
        browser.close()
    print(f"jobs on screen: {on_screen} (the page shows one page of the list)")


def report(counter: CountRequests, seconds: float, jobs: int, running: int) -> None:
    total = sum(counter.counts.values())
    per_minute = total * 60 / seconds
    naive = jobs * 60 / 2
    print(f"page open {seconds:.0f} s on {jobs} jobs ({running} running): {total} requests = {per_minute:.0f}/min")
    for (what, code), n in sorted(counter.counts.items()):
        print(f"  {what:<11} {code}: {n}")
    print(f"naive client, every job every 2 s: {jobs} x 30 = {naive:.0f}/min")
    print(f"the page sends {per_minute / naive:.1%} of the naive load ({naive / max(per_minute, 1):.0f}x fewer)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--server-url", default=os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    )
    parser.add_argument("--jobs", type=int, default=200)
    parser.add_argument("--running", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--port", type=int, default=3987)
    args = parser.parse_args()

    from jobrunner.service import build_app

    name = f"jobrunner_bench_page_{os.getpid()}"
    database_url = args.server_url.rsplit("/", 1)[0] + "/" + name
    asyncio.run(admin(args.server_url, f"CREATE DATABASE {name}"))
    try:
        migrate.upgrade(database_url)
        asyncio.run(seed(database_url))
        settings = Settings(
            demo_mode=True, jwt_secret=SECRET, org_concurrency_limit=args.running + 5, poll_interval_seconds=0.2
        )
        counter = CountRequests(build_app(Runtime(settings, database_url, SECRET), with_worker=True))
        server = uvicorn.Server(uvicorn.Config(counter, host="127.0.0.1", port=args.port, log_level="warning"))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        while not server.started:
            time.sleep(0.05)
        url = f"http://127.0.0.1:{args.port}"
        token = issue_token(SECRET, "user_member", "org_acme", 7200)
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=30) as api:
            create_jobs(api, args.jobs - args.running, 0)
            wait_for(api, "succeeded", args.jobs - args.running)
            create_jobs(api, args.running, args.seconds + 600)
            wait_for(api, "running", args.running)
        measure(url, args.seconds, counter)
        report(counter, args.seconds, args.jobs, args.running)
        server.should_exit = True
        thread.join(timeout=30)
    finally:
        asyncio.run(admin(args.server_url, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))


if __name__ == "__main__":
    main()
