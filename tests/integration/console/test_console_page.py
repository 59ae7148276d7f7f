"""The operations console in Chromium against the real service, database and worker, at
1280 px and 390 px, with axe-core (tests/package.json) injected: zero violations."""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.integration.web.conftest import LiveService, screenshot, sign_in

pytestmark = pytest.mark.slow

TESTS = Path(__file__).resolve().parents[2]
AXE = TESTS / "node_modules" / "axe-core" / "axe.min.js"
BAD_EXPORT = {"jobType": "export_report", "payload": {"reportType": "invalid_report", "format": "csv"}, "maxRetries": 0}
LATER = {
    "jobType": "export_report",
    "payload": {"reportType": "quotes", "format": "csv"},
    "scheduledAt": "2099-01-01T00:00:00Z",
}


@pytest.fixture(scope="session")
def axe_script() -> Path:
    """axe-core from npm (tests/package-lock.json), installed on first use."""
    if not AXE.exists():
        if shutil.which("npm") is None:
            pytest.skip("axe-core is not installed and there is no npm to install it")
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=TESTS, check=True, timeout=300)
    return AXE


def assert_accessible(page, axe_script: Path) -> None:
    page.add_script_tag(path=str(axe_script))
    violations = page.evaluate(
        "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
        ".map(v => ({id: v.id, impact: v.impact, nodes: v.nodes.map(n => n.target.join(' ')).slice(0, 5)}))"
    )
    assert violations == [], violations


def wait_for_status(api, job_id: str, wanted: str, timeout: float = 20) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        job = api.get(f"/v1/jobs/{job_id}/status").json()["job"]
        if job["status"] == wanted:
            return job
        assert time.monotonic() < deadline, f"job stayed {job['status']}, wanted {wanted}"
        time.sleep(0.2)


@pytest.fixture
def console_context(live_service: LiveService, browser):
    """A browser context that lets the test inject axe despite the page's CSP."""
    context = browser.new_context(base_url=live_service.url, bypass_csp=True, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(20_000)
    yield context
    context.close()


def open_console(page) -> None:
    sign_in(page, "Ada Admin")
    page.get_by_role("link", name="Operations console").click()
    page.locator('#jobs-table[aria-busy="false"]').wait_for(state="attached")
    page.locator("#queue-chart svg").wait_for()


def test_an_admin_finds_retries_anyway_and_cancels_jobs_of_other_users(
    console_context, live_service: LiveService, axe_script: Path
):
    page = console_context.new_page()
    page.on("dialog", lambda dialog: dialog.accept())
    with live_service.api("user_member") as member:
        failed = member.post("/v1/jobs", json=BAD_EXPORT).json()["jobId"]
        later = member.post("/v1/jobs", json=LATER).json()["jobId"]
        wait_for_status(member, failed, "failed")

        open_console(page)
        rows = page.locator("#jobs-table tbody tr")
        expect(page.locator(f'tr[data-job-id="{failed}"]')).to_be_visible()
        expect(page.locator(f'tr[data-job-id="{later}"]')).to_contain_text("user_member")
        expect(page.locator("#queue-running")).to_contain_text(" of 5")
        expect(page.locator("#workers tbody tr")).to_have_count(1)  # the service's in-process worker
        assert_accessible(page, axe_script)
        screenshot(page, "console")

        # Search: the failed ones.
        page.get_by_label("State", exact=True).select_option("failed")
        page.get_by_role("button", name="Search").click()
        expect(rows).to_have_count(1)
        page.get_by_role("button", name=f"Open job {failed}").click()
        detail = page.locator("#detail")
        expect(detail.locator("#history")).to_contain_text("job.created by Max Member")
        expect(page.locator("#detail-exception")).to_be_visible()  # retries used up: the exception applies
        assert '"reportType": "invalid_report"' in page.locator("#detail-payload").inner_text()
        assert_accessible(page, axe_script)
        screenshot(page, "console-job")

        page.get_by_role("button", name="Retry anyway").click()
        expect(detail.locator('#history li[data-action="job.retried_anyway"]')).to_contain_text("Ada Admin")
        # The worker runs it again (and it fails again: the report type is still unknown).
        again = wait_for_status(member, failed, "failed")
        assert again["retryCount"] == 0

        # Bulk cancel of a selection.
        page.get_by_label("State", exact=True).select_option("")
        page.get_by_role("button", name="Search").click()
        page.get_by_role("checkbox", name=f"Select job {later}").check()
        page.get_by_role("button", name="Cancel selected (1)").click()
        expect(page.locator("#announcer")).to_contain_text("1 job cancelled")
        assert member.get(f"/v1/jobs/{later}/status").json()["job"]["status"] == "cancelled"
        expect(page.locator(f'tr[data-job-id="{later}"] .badge')).to_have_text("cancelled")


def test_small_screen_and_dark_scheme_are_accessible(console_context, live_service: LiveService, axe_script: Path):
    page = console_context.new_page()
    page.set_viewport_size({"width": 390, "height": 844})
    with live_service.api("user_member") as member:
        member.post("/v1/jobs", json=LATER)
    open_console(page)
    # Nothing wider than the screen but the scrollable tables.
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, overflow
    assert_accessible(page, axe_script)
    page.get_by_role("button", name="Open job").first.click()
    page.locator("#detail").wait_for()
    assert_accessible(page, axe_script)
    page.emulate_media(color_scheme="dark")
    assert_accessible(page, axe_script)
    screenshot(page, "console-small-dark")


def test_a_member_is_told_the_console_is_for_administrators(console_context, live_service: LiveService):
    page = console_context.new_page()
    sign_in(page, "Max Member")
    expect(page.get_by_role("link", name="Operations console")).to_be_hidden()
    page.goto("/console")
    expect(page.get_by_role("alert")).to_contain_text("jobs.manage_jobs")
    expect(page.locator("#app")).to_be_hidden()
