"""Deployment tests: fixtures shared with the API and worker tests."""

from tests.integration.api.conftest import app, client  # noqa: F401 - fixtures
from tests.integration.worker.conftest import events  # noqa: F401 - fixture
from tests.integration.storage.conftest import object_store  # noqa: F401 - fixture
