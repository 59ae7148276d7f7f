"""``/docs`` renders the API's operations in Chromium with every request to another origin
refused, as on a machine without internet."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from tests.integration.web.conftest import LiveService

pytestmark = pytest.mark.slow


def test_the_docs_page_renders_the_operations_offline(browser, live_service: LiveService) -> None:
    origin = urlsplit(live_service.url).netloc
    elsewhere: list[str] = []

    def only_this_service(route) -> None:
        if urlsplit(route.request.url).netloc == origin:
            route.continue_()
        else:
            elsewhere.append(route.request.url)
            route.abort("internetdisconnected")

    context = browser.new_context(base_url=live_service.url, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(20_000)
    context.route("**/*", only_this_service)
    page = context.new_page()
    try:
        page.goto("/docs")
        expect(page.locator(".swagger-ui .info .title")).to_contain_text("jobrunner")
        operations = page.locator(".opblock")
        expect(operations.first).to_be_visible()
        assert operations.count() >= 5
        expect(page.get_by_role("link", name="/v1/jobs/{job_id}/status")).to_be_visible()
        assert elsewhere == []
    finally:
        context.close()
