"""The jobs page of issue 15 in Chromium against the real service, database and worker: the
table at 1280 px and the cards at 390 px, light and dark, with axe-core (tests/package.json)
finding nothing; why a job waits; an import from the page; Run again; search by id prefix
and "clear filters"; the reports offered per GET /v1/me."""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from tests.integration.console.test_console_page import assert_accessible, axe_script  # noqa: F401 (a fixture)
from tests.integration.web.conftest import LiveService, screenshot, sign_in
from tests.integration.web.test_page import EXPORT, job_row, wait_for_status
from tests.support.jobs import execute_unchecked

pytestmark = pytest.mark.slow

SCHEDULED = {**EXPORT, "scheduledAt": "2099-01-01T00:00:00.000Z"}
RANGED = {
    "jobType": "export_report",
    "payload": {
        "reportType": "quotes",
        "format": "xlsx",
        "filters": {"dateFrom": "2024-01-01", "dateTo": "2024-03-31"},
    },
}
BAD = {"jobType": "export_report", "payload": {"reportType": "invalid_report", "format": "csv"}, "maxRetries": 0}


def run_sql(database_url: str, *statements: tuple[Any, ...]) -> None:
    """Set-up SQL, on a thread of its own: sync Playwright's loop holds this one."""
    errors: list[BaseException] = []

    async def run() -> None:
        conn = await asyncpg.connect(database_url)
        try:
            for statement, *args in statements:
                await execute_unchecked(conn, statement, *args)
        finally:
            await conn.close()

    def target() -> None:
        try:
            asyncio.run(run())
        except BaseException as exc:  # noqa: BLE001 (re-raised below, in the test's thread)
            errors.append(exc)

    thread = threading.Thread(target=target)
    thread.start()
    thread.join(30)
    if errors:
        raise errors[0]


def hold_the_organizations_only_slot(service: LiveService, api) -> str:
    """A job held by a (fake, alive) worker, with the organization allowed one running job:
    every other job of org_acme waits for it."""
    job_id = api.post("/v1/jobs", json=SCHEDULED).json()["jobId"]
    run_sql(
        service.database_url,
        (
            "INSERT INTO workers (id, hostname, pid, concurrency, heartbeat_at) VALUES ('w-test', 'test', 1, 1, now() + interval '1 hour')",
        ),
        ("UPDATE organizations SET max_concurrent_jobs = 1 WHERE id = 'org_acme'",),
        (
            "UPDATE jobs SET status = 'running', locked_by = 'w-test', locked_at = now(), started_at = now() - interval '1 minute', "
            "scheduled_at = NULL, current_step = 1, progress = 20 WHERE id = $1",
            uuid.UUID(job_id),
        ),
    )
    return job_id


@pytest.fixture
def context(live_service: LiveService, browser):
    """bypass_csp: the test injects axe-core into the page."""
    context = browser.new_context(
        base_url=live_service.url, bypass_csp=True, accept_downloads=True, viewport={"width": 1280, "height": 900}
    )
    context.set_default_timeout(20_000)
    yield context
    context.close()


def test_table_and_cards_light_and_dark_say_what_each_job_is_and_pass_axe(
    context,
    live_service: LiveService,
    axe_script: Path,  # noqa: F811 (the fixture imported above)
):
    with live_service.api() as api:
        done = api.post("/v1/jobs", json=RANGED).json()["jobId"]
        failed = api.post("/v1/jobs", json=BAD).json()["jobId"]
        wait_for_status(api, done, "succeeded")
        wait_for_status(api, failed, "failed")
        later = api.post("/v1/jobs", json=SCHEDULED).json()["jobId"]
        holder = hold_the_organizations_only_slot(live_service, api)
        waiting = api.post("/v1/jobs", json=EXPORT).json()["jobId"]
    page = context.new_page()
    sign_in(page, "Max Member")

    # Wide: a table with column headings; each row says what the job is and how it does.
    assert page.get_by_role("columnheader", name="Created").is_visible()
    assert "Quotes export · Excel · Jan 1, 2024 – Mar 31, 2024" in job_row(page, done).inner_text()
    created = job_row(page, done).locator("time").first
    assert created.inner_text() in ("just now", "1 minute ago") and created.get_attribute("title")
    assert "Scheduled for" in job_row(page, later).inner_text()
    assert "Waiting: 1 of 1 running in your organization" in job_row(page, waiting).inner_text()
    # 20 % in a minute: about four minutes left (the estimate from progress and time so far).
    assert "Step 1 of 6 · about 4 min" in job_row(page, holder).inner_text()
    row_height = job_row(page, done).bounding_box()["height"]
    assert row_height < 90, row_height  # dense: ~130 px per job before
    job_row(page, failed).get_by_role("button", name="Details").click()
    assert "Technical detail" in page.locator(f"#details-{failed}").inner_text()

    # Sorting by a column reorders the rows and says so.
    page.get_by_role("button", name="State", exact=True).click()
    assert page.locator("th[data-sort=status]").get_attribute("aria-sort") == "descending"
    ids = page.locator("tr.job").evaluate_all("rows => rows.map(r => r.dataset.jobId)")
    assert ids[0] == done and ids[-1] == holder  # succeeded ... running, descending by state order
    page.get_by_role("button", name="Created", exact=True).click()

    for width, scheme in ((1280, "light"), (1280, "dark"), (390, "light"), (390, "dark")):
        page.set_viewport_size({"width": width, "height": 900})
        page.emulate_media(color_scheme=scheme)
        if width == 390:  # cards: no headings row, nothing wider than the screen
            assert page.locator("#jobs thead").bounding_box()["height"] <= 1  # for screen readers only
            assert page.evaluate("document.documentElement.scrollWidth") <= width
        assert_accessible(page, axe_script)
        screenshot(page, f"jobs-{width}-{scheme}")


CSV = "name,email,country\nAda,ada@example.com,GB\nBob,not-an-email,US\nCy,cy@example.com,FR\n"


def test_import_a_csv_from_the_page_and_download_its_rejected_rows(context, live_service: LiveService, tmp_path):
    source = tmp_path / "new-customers.csv"
    source.write_text(CSV, encoding="utf-8")
    page = context.new_page()
    sign_in(page, "Max Member")
    page.get_by_label("CSV file", exact=True).set_input_files(str(source))
    page.get_by_label("Into").select_option("customers")
    page.get_by_role("button", name="Upload and import").click()
    row = page.locator("tr.job", has_text="Customers import · new-customers.csv")
    row.locator(".badge.succeeded").wait_for()
    assert "2 inserted · 0 updated · 1 rejected" in row.inner_text()
    screenshot(page, "import-done")
    with page.expect_download() as download_info:
        row.get_by_role("link", name="Rejected rows").click()
    rejected = tmp_path / "rejected.csv"
    download_info.value.save_as(rejected)
    text = rejected.read_text(encoding="utf-8-sig")
    assert "not-an-email" in text and "ada@example.com" not in text


def test_run_again_search_by_id_prefix_and_clear_filters(context, live_service: LiveService):
    page = context.new_page()
    page.on("dialog", lambda dialog: dialog.accept())
    with live_service.api() as api:
        job_id = api.post("/v1/jobs", json=RANGED).json()["jobId"]
        api.post(f"/v1/jobs/{job_id}/cancel")
        sign_in(page, "Max Member")
        job_row(page, job_id).get_by_role("button", name="Run again").click()
        page.locator("tr.job").nth(1).wait_for()
        jobs = api.get("/v1/jobs").json()["jobs"]
        assert len(jobs) == 2 and jobs[1]["id"] == job_id
        assert (jobs[0]["jobType"], jobs[0]["payload"]) == (RANGED["jobType"], RANGED["payload"])
        again = jobs[0]["id"]

    page.get_by_label("Job id").fill(job_id[:8])
    page.wait_for_function("() => document.querySelectorAll('tr.job').length === 1")
    assert page.locator("tr.job").get_attribute("data-job-id") == job_id
    page.get_by_label("Job id").fill("ffffffff" if not job_id.startswith("f") else "00000000")
    page.get_by_text("No jobs match these filters.").wait_for()
    page.get_by_role("button", name="Clear filters").click()
    page.wait_for_function("() => document.querySelectorAll('tr.job').length === 2")
    assert page.get_by_label("Job id").input_value() == ""
    assert again in page.locator("#jobs").inner_html()


def test_the_report_list_offers_only_what_me_allows(context, live_service: LiveService):
    page = context.new_page()
    offered = "() => [...document.querySelectorAll('#report-type option')].filter(o => !o.disabled).map(o => o.value)"
    sign_in(page, "Max Member")
    assert page.evaluate(offered) == ["quotes", "customers"]
    page.get_by_role("button", name="Sign out").click()
    sign_in(page, "Ada Admin")
    assert page.evaluate(offered) == ["quotes", "customers", "audit_log"]


def test_a_waiting_job_tells_why_before_it_starts(context, live_service: LiveService):
    """Counted again as the page polls: once the slot frees, the reason goes away."""
    with live_service.api() as api:
        holder = hold_the_organizations_only_slot(live_service, api)
        waiting = api.post("/v1/jobs", json=EXPORT).json()["jobId"]
        page = context.new_page()
        sign_in(page, "Max Member")
        assert "1 of 1 running in your organization" in job_row(page, waiting).inner_text()
        run_sql(
            live_service.database_url,
            (
                "UPDATE jobs SET status = 'cancelled', cancelled_at = now(), completed_at = now(), locked_by = NULL WHERE id = $1",
                uuid.UUID(holder),
            ),
        )
        job_row(page, waiting).locator(".badge.succeeded").wait_for(timeout=30_000)
        time.sleep(0.1)
        assert "running in your organization" not in job_row(page, waiting).inner_text()
