"""The console's API tests drive the app as tests/integration/api does (a fresh database
per test, the app with its lifespan, httpx over ASGI); its page and CLI tests use the
live service and Chromium of tests/integration/web."""

from tests.integration.api.conftest import app, client, create_job, db, settings  # noqa: F401
from tests.integration.web.conftest import browser, chromium, live_service  # noqa: F401
