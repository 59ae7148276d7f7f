"""The jobs page in Chromium against the real service, database and worker."""

from __future__ import annotations

import csv
import io
import re
import time

import httpx
import pytest
from playwright.sync_api import expect

from tests.integration.web.conftest import LiveService, running_service, screenshot, sign_in

pytestmark = pytest.mark.slow

EXPORT = {"jobType": "export_report", "payload": {"reportType": "quotes", "format": "csv"}}


def job_row(page, job_id: str):
    return page.locator(f'tr.job[data-job-id="{job_id}"]')


def details_of(page, job_id: str):
    return page.locator(f"#details-{job_id}")


def wait_for_status(api, job_id: str, wanted: str, timeout: float = 20) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        status = api.get(f"/v1/jobs/{job_id}/status").json()
        if status["job"]["status"] == wanted:
            return status
        assert time.monotonic() < deadline, f"job stayed {status['job']['status']}, wanted {wanted}"
        time.sleep(0.2)


def test_member_starts_a_csv_export_watches_it_finish_and_downloads_it(page, live_service: LiveService, tmp_path):
    sign_in(page, "Max Member")
    screenshot(page, "jobs-empty")
    page.get_by_label("Report", exact=True).select_option("quotes")
    page.get_by_label("Format", exact=True).select_option("csv")
    page.get_by_label("From", exact=True).fill("2000-01-01")
    page.get_by_label("To", exact=True).fill("2100-12-31")
    page.get_by_label("Priority", exact=True).fill("5")
    # Record every width the bar takes, to see it move and reach 100%.
    page.evaluate("""() => { window.__widths = [];
        // A bar that changes records its value; a row first drawn (or redrawn) records its bar's
        // value too, so a busy machine whose first poll already sees the end still counts.
        new MutationObserver((records) => { for (const r of records) {
            if (r.type === 'attributes' && r.target.classList.contains('progress-track'))
                window.__widths.push(r.target.getAttribute('aria-valuenow'));
            for (const node of r.addedNodes || []) if (node.querySelectorAll)
                for (const bar of node.querySelectorAll('.progress-track')) window.__widths.push(bar.getAttribute('aria-valuenow'));
        } })
        .observe(document.getElementById('jobs'), {subtree: true, childList: true, attributes: true, attributeFilter: ['aria-valuenow']}); }""")
    page.get_by_role("button", name="Start export").click()

    row = page.locator("tr.job").first
    row.locator(".badge.succeeded").wait_for()
    assert row.get_by_role("progressbar").get_attribute("aria-valuenow") == "100"
    assert "100" in page.evaluate("window.__widths")
    # What it is in the user's words (the dates in the browser's locale, en-US here).
    assert "Quotes export · CSV · Jan 1, 2000 – Dec 31, 2100" in row.inner_text()
    assert re.search(r"\d+ rows · [\d.]+ kB · kept until", row.inner_text())
    # The live region is refilled 50 ms after each change (so screen readers re-read it).
    expect(page.locator("#announcer")).to_contain_text("is now succeeded", timeout=5000)
    row.get_by_role("button", name="Details").click()
    assert '"reportType": "quotes"' in details_of(page, row.get_attribute("data-job-id")).locator("pre").inner_text()
    screenshot(page, "export-succeeded")

    with page.expect_download() as download_info:
        row.get_by_role("button", name="Download").click()
    path = tmp_path / "quotes.csv"
    download_info.value.save_as(path)
    rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig"))))
    job_id = row.get_attribute("data-job-id")
    with live_service.api() as api:
        result = api.get(f"/v1/jobs/{job_id}/status").json()["job"]["result"]
    assert result["recordCount"] > 0
    assert len(rows) == result["recordCount"] + 1  # the header
    assert rows[0][0] == "Quote Number"


def test_cancel_a_scheduled_job(page, live_service: LiveService):
    with live_service.api() as api:
        job_id = api.post("/v1/jobs", json={**EXPORT, "scheduledAt": "2099-01-01T00:00:00.000Z"}).json()["jobId"]
        sign_in(page, "Max Member")
        row = job_row(page, job_id)
        assert "Scheduled for" in row.inner_text()
        # Cancel asks first: dismissed, nothing happens; accepted, the job is cancelled.
        page.once("dialog", lambda dialog: dialog.dismiss())
        row.get_by_role("button", name="Cancel").click()
        time.sleep(0.5)
        assert api.get(f"/v1/jobs/{job_id}/status").json()["job"]["status"] == "queued"
        page.once("dialog", lambda dialog: dialog.accept())
        row.get_by_role("button", name="Cancel").click()
        row.locator(".badge.cancelled").wait_for()
        assert row.get_by_role("button", name="Cancel").is_hidden()
        assert row.get_by_role("button", name="Retry").is_hidden()
        assert api.get(f"/v1/jobs/{job_id}/status").json()["job"]["status"] == "cancelled"
        screenshot(page, "job-cancelled")
        page.emulate_media(color_scheme="dark")
        screenshot(page, "dark")


def test_retry_a_failed_job(page, live_service: LiveService):
    with live_service.api() as api:
        bad = {"jobType": "export_report", "payload": {"reportType": "invalid_report", "format": "csv"}}
        job_id = api.post("/v1/jobs", json=bad).json()["jobId"]
        wait_for_status(api, job_id, "failed")
        sign_in(page, "Max Member")
        row = job_row(page, job_id)
        # A message for a person in the row; the technical text behind "Details".
        assert "settings were not accepted" in row.inner_text()
        assert "Invalid export job payload" not in row.inner_text()
        row.get_by_role("button", name="Details").click()
        assert "Invalid export job payload" in details_of(page, job_id).inner_text()
        screenshot(page, "job-failed")
        row.get_by_role("button", name="Retry").click()
        # The retry runs the same invalid export again: it fails again, one retry used.
        page.wait_for_function(
            "id => document.querySelector(`tr.job[data-job-id='${id}'] .error-message`).textContent.includes('after 2 attempts')",
            arg=job_id,
        )
        row.locator(".badge.failed").wait_for()
        status = api.get(f"/v1/jobs/{job_id}/status").json()
        assert status["job"]["retryCount"] == 1
        assert status["job"]["status"] == "failed"


def test_the_viewer_sees_no_start_button_nor_cancel(page, live_service: LiveService):
    with live_service.api() as member, live_service.api("user_viewer") as viewer:
        # The viewer may not create jobs; a job of theirs made by hand would need the
        # database. They still see the page and their (empty) list.
        assert viewer.post("/v1/jobs", json=EXPORT).status_code == 403
        member.post("/v1/jobs", json=EXPORT)
    sign_in(page, "Vera Viewer")
    assert page.get_by_role("button", name="Start export").count() == 0
    assert page.get_by_role("heading", name="Start an export").is_hidden()
    page.locator("#jobs-empty").wait_for()
    assert page.locator("tr.job").count() == 0
    screenshot(page, "viewer")


def test_another_users_jobs_never_appear(page, live_service: LiveService):
    with (
        live_service.api("user_admin") as admin,
        live_service.api("user_globex", "org_globex") as globex,
        live_service.api() as member,
    ):
        others = [
            admin.post("/v1/jobs", json=EXPORT).json()["jobId"],
            globex.post("/v1/jobs", json=EXPORT).json()["jobId"],
        ]
        mine = member.post("/v1/jobs", json=EXPORT).json()["jobId"]
    sign_in(page, "Max Member")
    job_row(page, mine).wait_for()
    ids = page.locator("tr.job").evaluate_all("rows => rows.map(r => r.dataset.jobId)")
    assert ids == [mine]
    html = page.content()
    assert all(other not in html for other in others)


def without_push(page) -> None:
    """The service answers the page's event stream with 503: the page polls (its fallback)."""
    page.route(
        "**/v1/jobs/events*",
        lambda route: route.fulfill(
            status=503,
            headers={"Content-Type": "application/problem+json", "Retry-After": "5"},
            body='{"type": "about:blank", "title": "Service Unavailable", "status": 503, "detail": "no streams"}',
        ),
    )


def test_errors_read_in_plain_words(page, live_service: LiveService):
    # Polling (push would show the cancel made elsewhere at once, before the click).
    without_push(page)
    with live_service.api() as api:
        job_id = api.post("/v1/jobs", json={**EXPORT, "scheduledAt": "2099-01-01T00:00:00.000Z"}).json()["jobId"]
        time.sleep(2.2)  # past "just created": the page's next poll comes 10 s after its first
        with page.expect_response(lambda r: f"/v1/jobs/{job_id}/status" in r.url):
            sign_in(page, "Max Member")
        page.on("dialog", lambda dialog: dialog.accept())
        # Cancelled elsewhere (another tab, the CLI) after the page drew its button: 409.
        api.post(f"/v1/jobs/{job_id}/cancel")
    job_row(page, job_id).get_by_role("button", name="Cancel").click()
    alert = page.get_by_role("alert")
    alert.wait_for()
    assert "can't be cancelled in its current state" in alert.inner_text()
    job_row(page, job_id).locator(".badge.cancelled").wait_for()
    # 422 from the API, in words: an out-of-range priority, named by its label.
    page.get_by_label("Priority", exact=True).fill("11")
    page.get_by_role("button", name="Start export").click()
    errors = page.locator("#form-errors")
    errors.wait_for()
    assert "The export was not started" in errors.inner_text()
    assert "Priority:" in errors.inner_text()
    assert page.locator("tr.job").count() == 1


def test_paste_a_token_when_demo_sign_in_is_off(browser, live_service: LiveService, database_url: str):
    """Without demo mode the demo endpoints do not exist (404 problem) and the page asks
    for a token."""
    with running_service(database_url, with_worker=False, demo_mode=False) as service:
        answer = httpx.get(f"{service.url}/v1/demo/users")
        assert answer.status_code == 404
        assert answer.headers["content-type"].startswith("application/problem+json")
        assert httpx.post(f"{service.url}/v1/demo/token", json={"userId": "user_admin"}).status_code == 404
        context = browser.new_context(viewport={"width": 360, "height": 740})
        page = context.new_page()
        page.goto(service.url + "/")
        page.get_by_label("Bearer token").wait_for()
        assert page.locator("#demo-users").is_hidden()
        page.get_by_label("Bearer token").fill("not-a-token")
        page.get_by_role("button", name="Sign in with token").click()
        assert "not accepted" in page.get_by_role("alert").inner_text()
        page.get_by_label("Bearer token").fill(service.token("user_member"))
        page.get_by_role("button", name="Sign in with token").click()
        page.locator('#jobs[aria-busy="false"]').wait_for(state="attached")
        assert page.evaluate("document.documentElement.scrollWidth") <= 360
        screenshot(page, "narrow-360px")
        context.close()


def test_pages_filters_and_only_unfinished_jobs_are_polled(page, live_service: LiveService):
    scheduled = {**EXPORT, "scheduledAt": "2099-01-01T00:00:00.000Z"}
    with live_service.api() as api:
        done = api.post("/v1/jobs", json=scheduled).json()["jobId"]
        api.post(f"/v1/jobs/{done}/cancel")
        queued = [api.post("/v1/jobs", json=scheduled).json()["jobId"] for _ in range(21)]
    polled: list[str] = []
    page.on("request", lambda request: polled.append(request.url) if request.url.endswith("/status") else None)
    without_push(page)  # the polling fallback (with push, nothing is polled: test_client_push.py)
    sign_in(page, "Max Member")
    assert page.locator("tr.job").count() == 20
    assert page.locator("#page-info").inner_text() == "Page 1 of 2 · 22 jobs"
    page.get_by_role("button", name="Next").click()
    page.locator("#page-info", has_text="Page 2 of 2").wait_for()
    page.locator('#jobs[aria-busy="false"]').wait_for(state="attached")
    ids = page.locator("tr.job").evaluate_all("rows => rows.map(r => r.dataset.jobId)")
    assert ids == [queued[0], done]  # newest first: the oldest two on page 2
    page.get_by_label("Status", exact=True).select_option("cancelled")
    page.locator("#page-info", has_text="Page 1 of 1 · 1 jobs").wait_for(state="attached")
    assert page.locator("tr.job").evaluate_all("rows => rows.map(r => r.dataset.jobId)") == [done]
    time.sleep(1)
    assert polled and not any(done in url for url in polled)
    assert {url.split("/")[-2] for url in polled} <= set(queued)


def test_a_job_waiting_on_others_says_so_and_is_cancelled_with_them(page, live_service: LiveService):
    later = {**EXPORT, "scheduledAt": "2099-01-01T00:00:00.000Z"}
    with live_service.api() as api:
        first = api.post("/v1/jobs", json=later).json()["jobId"]
        second = api.post("/v1/jobs", json=later).json()["jobId"]
        body = {**EXPORT, "dependsOn": [{"jobId": first, "as": "first"}, {"jobId": second, "as": "second"}]}
        waiting = api.post("/v1/jobs", json=body).json()["jobId"]
        sign_in(page, "Max Member")
        row = job_row(page, waiting)
        expect(row).to_contain_text("Waiting for 2 jobs")
        row.get_by_role("button", name="Details").click()
        expect(details_of(page, waiting)).to_contain_text(f"first ({first[:8]}), second ({second[:8]})")
        # Cancelling one of them cancels the waiting job, which then says why.
        assert api.post(f"/v1/jobs/{first}/cancel").status_code == 200
        expect(row.locator(".badge.cancelled")).to_be_visible(timeout=20_000)
        expect(row).to_contain_text("Cancelled: a job it waited for did not succeed")
