"""The scale tests use the engine's fixtures (fast settings, events table, worker)."""

from tests.integration.worker.conftest import events, settings, worker  # noqa: F401
