"""The real service (API + in-process worker, demo mode, a fresh database with a little
demo data) served by uvicorn in a thread on a free port, and Debian's Chromium driven by
Playwright. Chromium is installed with apt when /usr/bin/chromium is missing (never
``playwright install``)."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import uvicorn

from jobrunner.auth.tokens import issue_token
from jobrunner.db.demo_data import load_demo_data
from jobrunner.runtime import Runtime
from jobrunner.settings import Settings
from tests.conftest import JWT_SECRET
from tests.support.processes import free_port

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(__file__).resolve().parents[3] / "docs" / "screenshots"
DEMO_QUOTES = 300


@dataclass
class LiveService:
    url: str
    database_url: str

    def token(self, user: str = "user_member", org: str = "org_acme") -> str:
        return issue_token(JWT_SECRET, user, org, 3600)

    def api(self, user: str = "user_member", org: str = "org_acme") -> httpx.Client:
        return httpx.Client(base_url=self.url, headers={"Authorization": f"Bearer {self.token(user, org)}"}, timeout=10)


def serve_in_thread(app, port: int) -> tuple[uvicorn.Server, threading.Thread]:
    # A stream a closed page left open must not hold the stop: in a thread uvicorn installs
    # no signal handlers, so server-sent events do not hear of the shutdown; after 2 s of
    # graceful shutdown uvicorn cancels what still runs.
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", lifespan="on", timeout_graceful_shutdown=2
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name=f"uvicorn-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the service did not start")
        time.sleep(0.05)
    return server, thread


def stop_server(server: uvicorn.Server, thread: threading.Thread) -> None:
    server.should_exit = True
    thread.join(timeout=20)


def service_settings(**overrides) -> Settings:
    values = {"demo_mode": True, "jwt_secret": JWT_SECRET, "poll_interval_seconds": 0.2}
    values.update(overrides)
    return Settings(**values)


@contextmanager
def running_service(database_url: str, *, with_worker: bool = True, **overrides) -> Iterator[LiveService]:
    """The service on a free port (settings: demo mode unless overridden)."""
    from jobrunner.service import build_app

    settings = service_settings(**overrides)
    app = build_app(
        Runtime(settings=settings, database_url=database_url, jwt_secret=JWT_SECRET), with_worker=with_worker
    )
    port = free_port()
    server, thread = serve_in_thread(app, port)
    try:
        yield LiveService(url=f"http://127.0.0.1:{port}", database_url=database_url)
    finally:
        stop_server(server, thread)


@pytest.fixture
def live_service(database_url: str) -> Iterator[LiveService]:
    """The whole service: API, jobs page, demo sign-in, worker, and a little demo data."""
    asyncio.run(load_demo_data(database_url, quotes_per_org=DEMO_QUOTES))
    with running_service(database_url) as service:
        yield service


def ensure_chromium() -> None:
    if CHROMIUM.exists():
        return
    if shutil.which("apt-get") is None:
        pytest.skip("no /usr/bin/chromium and no apt-get to install it")
    subprocess.run(["apt-get", "update", "-qq"], check=True, timeout=600)
    subprocess.run(
        ["apt-get", "install", "-y", "-qq", "chromium"],
        check=True,
        timeout=900,
        env={"DEBIAN_FRONTEND": "noninteractive", "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"},
    )


@pytest.fixture(scope="session")
def chromium() -> Path:
    ensure_chromium()
    return CHROMIUM


@pytest.fixture
def browser(live_service: LiveService, chromium: Path) -> Iterator[object]:
    """Per test, and set up after the service: while sync Playwright runs, its event loop
    occupies the thread, and the database fixtures (asyncio.run) must run outside it."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(chromium), headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(live_service: LiveService, browser) -> Iterator[object]:
    context = browser.new_context(
        base_url=live_service.url, accept_downloads=True, viewport={"width": 1024, "height": 800}
    )
    context.set_default_timeout(20_000)
    page = context.new_page()
    yield page
    context.close()


def sign_in(page, user_label: str) -> None:
    """Sign in through the demo picker (the button shows the user's display name)."""
    page.goto("/")
    page.get_by_role("button", name=user_label).click()
    page.locator('#jobs[aria-busy="false"]').wait_for(state="attached")


def screenshot(page, name: str) -> None:
    """Saves docs/screenshots/<name>.png when JOBRUNNER_SCREENSHOTS=1 (so that a plain test
    run leaves the working tree alone)."""
    if os.environ.get("JOBRUNNER_SCREENSHOTS") != "1":
        return
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True, animations="disabled")
