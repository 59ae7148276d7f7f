"""The jobs page's details of issues 13/14 in Chromium against the real service, worker and
a real webhook receiver on loopback: where a job came from ("From template …", "From
schedule …") and its completion webhooks in words (state, attempts, last status code),
read from the status endpoint when the details open; axe-core finds nothing."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import expect

from jobrunner.db.demo_data import load_demo_data
from tests.integration.console.test_console_page import assert_accessible, axe_script  # noqa: F401 (a fixture)
from tests.integration.web.conftest import DEMO_QUOTES, LiveService, running_service, sign_in
from tests.integration.web.test_page import EXPORT, job_row, wait_for_status
from tests.integration.web.test_page_views import context, run_sql  # noqa: F401 (a fixture)
from tests.support.receivers import http_receiver

pytestmark = pytest.mark.slow

LATER = "2099-01-01T00:00:00.000Z"
TEMPLATE = {"name": "Quotes of 2024", **EXPORT}
SCHEDULE = {"cron": "0 6 * * 1", "timezone": "Europe/Paris", "paused": True, **EXPORT}


@pytest.fixture
def live_service(database_url: str) -> Iterator[LiveService]:
    """The whole service, its deliveries allowed to loopback receivers and retried at once."""
    asyncio.run(load_demo_data(database_url, quotes_per_org=DEMO_QUOTES))
    with running_service(
        database_url,
        outbound_allowed_networks=["127.0.0.0/8"],
        callback_retry_base_seconds=0.1,
        callback_retry_cap_seconds=0.2,
        callback_poll_interval_seconds=0.05,
    ) as service:
        yield service


def wait_for_delivery(api, job_id: str, state: str, timeout: float = 20) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        deliveries = api.get(f"/v1/jobs/{job_id}/status").json().get("webhookDeliveries") or []
        if deliveries and deliveries[0]["state"] == state:
            return deliveries[0]
        assert time.monotonic() < deadline, deliveries
        time.sleep(0.2)


def anything(headers: dict[str, str], body: bytes) -> bool:
    return True  # the signature is tested in tests/integration/webhooks


def test_details_say_where_a_job_came_from_and_how_its_webhooks_went(
    context,  # noqa: F811 (the fixture imported above)
    live_service: LiveService,
    axe_script: Path,  # noqa: F811 (the fixture imported above)
):
    with (
        http_receiver("", script=[503], check=anything) as flaky,
        http_receiver("", script=[410, 410], check=anything) as gone,
        live_service.api("user_admin") as api,
    ):
        delivered = api.post("/v1/jobs", json={**EXPORT, "callbackUrl": flaky.url}).json()["jobId"]
        refused = api.post("/v1/jobs", json={**EXPORT, "callbackUrl": gone.url}).json()["jobId"]
        waiting = api.post("/v1/jobs", json={**EXPORT, "scheduledAt": LATER, "callbackUrl": gone.url}).json()["jobId"]
        for job_id in (delivered, refused):
            wait_for_status(api, job_id, "succeeded")
        wait_for_delivery(api, delivered, "delivered")
        wait_for_delivery(api, refused, "failed")

        template = api.post("/v1/job-templates", json=TEMPLATE).json()
        from_template = api.post("/v1/jobs", json={"templateId": template["id"], "scheduledAt": LATER}).json()["jobId"]
        schedule = api.post("/v1/schedules", json=SCHEDULE).json()
        fired = api.post("/v1/jobs", json={**EXPORT, "scheduledAt": LATER}).json()["jobId"]
        run_sql(
            live_service.database_url,
            (
                "UPDATE jobs SET schedule_id = $1, scheduled_for = now() WHERE id = $2",
                uuid.UUID(schedule["id"]),
                uuid.UUID(fired),
            ),
        )
        page = context.new_page()
        sign_in(page, "Ada Admin")
        page.locator(f'tr[data-schedule="{schedule["id"]}"]').wait_for()  # the schedules are read

        def details(job_id: str):
            job_row(page, job_id).get_by_role("button", name="Details").click()
            return page.locator(f"#details-{job_id}")

        shown = details(delivered)
        expect(shown).to_contain_text("Webhook when it succeeded")
        expect(shown).to_contain_text("Delivered · 2 attempts · last answer: 200 OK")
        expect(shown).to_contain_text(flaky.url)
        expect(details(refused)).to_contain_text("Failed · 1 attempt · last answer: 410 Gone")
        expect(details(waiting)).to_contain_text("Sent when the job finishes")
        expect(details(from_template)).to_contain_text("From template Quotes of 2024")
        expect(details(fired)).to_contain_text("From schedule 0 6 * * 1 (Europe/Paris)")
        assert "From " not in page.locator(f"#details-{delivered}").inner_text()  # started directly
        assert_accessible(page, axe_script)

        # A job that becomes final while its details are open: its webhook shows up, and while
        # it is pending it is read again when its attempt is due.
        api.post(f"/v1/jobs/{waiting}/cancel")
        expect(page.locator(f"#details-{waiting}")).to_contain_text("Webhook when it was cancelled", timeout=25_000)
        expect(page.locator(f"#details-{waiting}")).to_contain_text(
            "Failed · 1 attempt · last answer: 410 Gone", timeout=25_000
        )


CREATE_WITH_CALLBACK = """async ({ token }) => {
  const { createClient } = await import("/static/jobrunner-client.js");
  const client = createClient({ getToken: () => token });
  const payload = { reportType: "quotes", format: "csv" };
  const { jobId } = await client.createJob({
    jobType: "export_report", payload, scheduledAt: "2099-01-01T00:00:00.000Z",
    callbackUrl: "https://backend.example.com/hooks/jobs",
  });
  let refused = null;
  try {
    await client.createJob({ jobType: "export_report", payload, callbackUrl: "http://169.254.169.254/latest" });
  } catch (error) {
    refused = { status: error.status, loc: error.errors[0] && error.errors[0].loc };
  }
  return { jobId, refused };
}"""


def test_the_js_client_sends_a_callback_url(
    context,  # noqa: F811 (the fixture imported above)
    live_service: LiveService,
):
    page = context.new_page()
    page.goto("/")
    answer = page.evaluate(CREATE_WITH_CALLBACK, {"token": live_service.token()})
    assert answer["refused"] == {"status": 422, "loc": "callbackUrl"}  # cloud metadata: never
    with live_service.api() as api:
        job = api.get(f"/v1/jobs/{answer['jobId']}/status").json()["job"]
    assert job["callbackUrl"] == "https://backend.example.com/hooks/jobs"
