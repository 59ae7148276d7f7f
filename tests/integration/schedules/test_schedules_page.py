"""The jobs page's "Schedules" section in Chromium: an administrator sees the
organization's schedules with their next run; others do not see the section; axe-core
finds no violation, wide and narrow."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.console.test_console_page import assert_accessible, axe_script  # noqa: F401 (a fixture)
from tests.integration.web.conftest import LiveService, browser, chromium, live_service, sign_in  # noqa: F401

pytestmark = pytest.mark.slow

WEEKLY = {
    "cron": "0 6 * * 1",
    "timezone": "Europe/Paris",
    "jobType": "export_report",
    "payload": {
        "reportType": "quotes",
        "format": "xlsx",
        "filters": {"dateFrom": "2024-01-01", "dateTo": "2024-03-31"},
    },
}


@pytest.fixture
def context(live_service: LiveService, browser):  # noqa: F811
    context = browser.new_context(base_url=live_service.url, bypass_csp=True, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(20_000)
    yield context
    context.close()


def test_admins_see_the_schedules_and_their_next_run(
    context,
    live_service: LiveService,  # noqa: F811
    axe_script: Path,  # noqa: F811
) -> None:
    with live_service.api("user_admin") as api:
        weekly = api.post("/v1/schedules", json=WEEKLY).json()
        paused = api.post("/v1/schedules", json={**WEEKLY, "cron": "30 2 * * *", "paused": True}).json()
    page = context.new_page()
    sign_in(page, "Ada Admin")
    section = page.get_by_role("region", name="Schedules")
    row = section.locator(f'tr[data-schedule="{weekly["id"]}"]')
    row.wait_for()
    text = row.inner_text()
    assert "Quotes export · Excel · Jan 1, 2024 – Mar 31, 2024" in text
    assert "0 6 * * 1" in text and "Europe/Paris" in text and "Never" in text
    next_run = row.locator("time")
    assert next_run.inner_text().startswith("in ") and next_run.get_attribute("datetime") == weekly["nextRunAt"]
    assert "Paused" in section.locator(f'tr[data-schedule="{paused["id"]}"]').inner_text()
    for width in (1280, 390):
        page.set_viewport_size({"width": width, "height": 900})
        if width == 390:
            assert page.evaluate("document.documentElement.scrollWidth") <= width
        assert_accessible(page, axe_script)


def test_members_do_not_see_the_section(context, live_service: LiveService) -> None:  # noqa: F811
    page = context.new_page()
    sign_in(page, "Max Member")
    assert page.locator("#schedules").is_hidden()
