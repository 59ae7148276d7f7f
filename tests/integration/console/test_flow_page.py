"""A paused job type in Chromium, against the real service: the jobs page says why a job
waits ("Paused: receiver failing"), and the console's Flow control card shows the breaker
and resets it, after which the worker runs the job."""

from __future__ import annotations

import asyncio
import concurrent.futures

import asyncpg
import pytest
from playwright.sync_api import expect

from tests.integration.console.test_console_page import assert_accessible, axe_script, console_context  # noqa: F401
from tests.integration.web.conftest import LiveService, screenshot, sign_in

pytestmark = pytest.mark.slow

CLEANUP = {"jobType": "cleanup", "payload": {"target": "exports", "olderThanDays": 30}}


def sql(database_url: str, statement: str) -> None:
    """One statement, run outside the thread's (Playwright's) event loop."""

    async def run() -> None:
        conn = await asyncpg.connect(database_url)
        try:
            await conn.execute(statement)
        finally:
            await conn.close()

    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, run()).result()


def test_a_paused_type_is_explained_and_reset_from_the_console(
    console_context,  # noqa: F811
    live_service: LiveService,
    axe_script,  # noqa: F811
):
    sql(
        live_service.database_url,
        "INSERT INTO circuit_breaker_rules (job_type, per_organization, failure_threshold, window_seconds,"
        " cooldown_seconds) VALUES ('cleanup', true, 3, 60, 3600);"
        "INSERT INTO circuit_breakers (job_type, organization_id, state, failures, opened_at, retry_at)"
        " VALUES ('cleanup', 'org_acme', 'open', 3, now(), now() + interval '1 h')",
    )
    page = console_context.new_page()
    page.on("dialog", lambda dialog: dialog.accept())
    with live_service.api("user_admin") as admin:
        job_id = admin.post("/v1/jobs", json=CLEANUP).json()["jobId"]
        sign_in(page, "Ada Admin")
        expect(page.locator(f'[data-job-id="{job_id}"]').first).to_contain_text("Paused: receiver failing")
        assert_accessible(page, axe_script)
        assert admin.get(f"/v1/jobs/{job_id}/status").json()["job"]["status"] == "queued"

        page.get_by_role("link", name="Operations console").click()
        row = page.locator('#breakers tr[data-breaker="cleanup"]')
        expect(row).to_contain_text("Paused: receiver failing")
        expect(row).to_contain_text("3 of 3")
        assert_accessible(page, axe_script)
        screenshot(page, "console-breaker")
        row.get_by_role("button", name="Reset the cleanup circuit breaker").click()
        expect(page.locator("#announcer")).to_contain_text("cleanup: circuit breaker reset")
        expect(row).to_have_attribute("data-state", "closed")
        # The worker takes the job at once.
        for _ in range(100):
            if admin.get(f"/v1/jobs/{job_id}/status").json()["job"]["status"] == "succeeded":
                break
            page.wait_for_timeout(200)
        assert admin.get(f"/v1/jobs/{job_id}/status").json()["job"]["status"] == "succeeded"
