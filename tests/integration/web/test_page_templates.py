"""The jobs page's "Start from a template" (issue 13, part 4) in Chromium against the real
service: the organization's templates are offered to whoever may create jobs, a click
starts a job from one (recorded as its templateId), and the page passes axe."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.console.test_console_page import assert_accessible, axe_script  # noqa: F401 (a fixture)
from tests.integration.web.conftest import LiveService, sign_in
from tests.integration.web.test_page import job_row
from tests.integration.web.test_page_views import context  # noqa: F401 (a fixture)

pytestmark = pytest.mark.slow

TEMPLATE = {
    "name": "Quotes of 2024",
    "jobType": "export_report",
    "payload": {
        "reportType": "quotes",
        "format": "xlsx",
        "filters": {"dateFrom": "2024-01-01", "dateTo": "2024-12-31"},
    },
}


def test_start_a_job_from_a_template(
    context,  # noqa: F811 (the fixture imported above)
    live_service: LiveService,
    axe_script: Path,  # noqa: F811 (the fixture imported above)
):
    page = context.new_page()
    sign_in(page, "Max Member")
    assert page.locator("#templates").is_hidden()  # none yet: nothing offered

    with live_service.api("user_admin") as admin:
        template = admin.post("/v1/job-templates", json=TEMPLATE).json()
        admin.post(
            "/v1/job-templates",
            json={**TEMPLATE, "name": "All customers", "payload": {"reportType": "customers", "format": "csv"}},
        )
    page.get_by_role("button", name="Sign out").click()
    sign_in(page, "Max Member")
    select = page.get_by_label("Template", exact=True)
    assert select.locator("option").all_inner_texts() == [
        "All customers · Customers export · CSV · all dates",
        "Quotes of 2024 · Quotes export · Excel · Jan 1, 2024 – Dec 31, 2024",
    ]
    assert_accessible(page, axe_script)
    select.select_option(label="Quotes of 2024 · Quotes export · Excel · Jan 1, 2024 – Dec 31, 2024")
    page.get_by_role("button", name="Start from template").click()
    page.locator("tr.job").first.wait_for()

    with live_service.api("user_member") as api:
        [job] = api.get("/v1/jobs").json()["jobs"]
    assert job["templateId"] == template["id"] and job["payload"] == TEMPLATE["payload"]
    assert "Quotes export · Excel" in job_row(page, job["id"]).inner_text()

    # A template deleted meanwhile: said in words, and the list is refreshed.
    with live_service.api("user_admin") as admin:
        admin.delete(f"/v1/job-templates/{template['id']}")
    select.select_option(label="Quotes of 2024 · Quotes export · Excel · Jan 1, 2024 – Dec 31, 2024")
    page.get_by_role("button", name="Start from template").click()
    page.locator("#template-errors").get_by_text("no longer exists").wait_for()
    assert select.locator("option").count() == 1

    # The viewer may not create jobs: no templates offered.
    page.get_by_role("button", name="Sign out").click()
    sign_in(page, "Vera Viewer")
    assert page.locator("#templates").is_hidden()
