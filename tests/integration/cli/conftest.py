"""The CLI tests run the real ``jobrunner`` client commands against the whole service
(API and worker) on loopback: the ``live_service`` of tests/integration/web."""

from tests.integration.web.conftest import live_service  # noqa: F401  (re-exported fixture)
