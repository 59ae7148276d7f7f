"""Circuit breakers in the API's /metrics snapshot (docs/flow-control.md)."""

from __future__ import annotations

import pytest

from jobrunner.settings import Settings
from tests.integration.observability.conftest import METRICS_TOKEN, samples, value

SCRAPER = {"Authorization": f"Bearer {METRICS_TOKEN}"}


@pytest.fixture
def settings(tmp_path) -> Settings:
    return Settings(pool_min_size=1, pool_max_size=4, data_dir=tmp_path, metrics_token=METRICS_TOKEN)


async def test_breaker_state_and_failures_are_served(app, client, db) -> None:
    await db.execute(
        "INSERT INTO circuit_breakers (job_type, failure_threshold, window_seconds, cooldown_seconds, state, failures)"
        " VALUES ('notification', 3, 60, 30, 'open', 3), ('sync', 5, 60, 30, 'closed', 1)"
    )
    await app.state.metrics_snapshot.refresh(app.state.pool)
    found = samples((await client.get("/metrics", headers=SCRAPER)).text)
    assert value(found, "jobrunner_circuit_breaker_state", job_type="notification", state="open") == 1
    assert value(found, "jobrunner_circuit_breaker_state", job_type="notification", state="closed") == 0
    assert value(found, "jobrunner_circuit_breaker_state", job_type="sync", state="closed") == 1
    assert value(found, "jobrunner_circuit_breaker_failures", job_type="notification") == 3
    assert value(found, "jobrunner_circuit_breaker_failures", job_type="sync") == 1
