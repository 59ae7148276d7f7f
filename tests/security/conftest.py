"""The security suite drives the API exactly as tests/integration/api does: a fresh
database per test, the app with its lifespan, httpx over ASGI."""

from tests.integration.api.conftest import app, client, create_job, db, settings  # noqa: F401
