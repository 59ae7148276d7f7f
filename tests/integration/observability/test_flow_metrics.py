"""Circuit breakers in the API's /metrics snapshot (docs/flow-control.md)."""

from __future__ import annotations

import pytest

from jobrunner.settings import Settings
from tests.integration.observability.conftest import METRICS_TOKEN, samples, value

SCRAPER = {"Authorization": f"Bearer {METRICS_TOKEN}"}


@pytest.fixture
def settings(tmp_path) -> Settings:
    return Settings(pool_min_size=1, pool_max_size=4, data_dir=tmp_path, metrics_token=METRICS_TOKEN)


async def test_breakers_by_type_and_state_are_served(app, client, db) -> None:
    await db.execute(
        "INSERT INTO circuit_breaker_rules (job_type, per_organization, failure_threshold, window_seconds,"
        " cooldown_seconds) VALUES ('notification', true, 3, 60, 30), ('sync', false, 5, 60, 30)"
    )
    await db.execute(
        "INSERT INTO circuit_breakers (job_type, organization_id, state, failures) VALUES"
        " ('notification', 'org_acme', 'open', 3), ('notification', 'org_globex', 'open', 3),"
        " ('sync', '', 'closed', 1)"
    )
    await app.state.metrics_snapshot.refresh(app.state.pool)
    text = (await client.get("/metrics", headers=SCRAPER)).text
    found = samples(text)
    assert value(found, "jobrunner_circuit_breakers", job_type="notification", state="open") == 2
    assert value(found, "jobrunner_circuit_breakers", job_type="notification", state="closed") == 0
    assert ("jobrunner_circuit_breakers", (("job_type", "notification"), ("state", "closed"))) in found
    assert value(found, "jobrunner_circuit_breakers", job_type="sync", state="closed") == 1
    assert "org_acme" not in text  # bounded labels
