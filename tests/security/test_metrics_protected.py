"""Issue 9, item 11: ``/metrics`` (every route and its status counts) is not public. Without
JOBRUNNER_METRICS_TOKEN it does not exist (404 problem); with it, it needs
``Authorization: Bearer <that token>``."""

from __future__ import annotations

import pytest

from jobrunner.domain.errors import ConfigurationError
from jobrunner.runtime import load_runtime
from jobrunner.settings import Settings
from tests.conftest import JWT_SECRET
from tests.integration.api.conftest import assert_problem, auth

METRICS_TOKEN = "metrics-token-for-the-scraper-0123456789"


@pytest.fixture
def settings(tmp_path) -> Settings:
    return Settings(pool_min_size=1, pool_max_size=4, data_dir=tmp_path, metrics_token=METRICS_TOKEN)


async def test_without_a_metrics_token_metrics_do_not_exist(app, client) -> None:
    app.state.settings = Settings(pool_min_size=1, pool_max_size=4)  # JOBRUNNER_METRICS_TOKEN unset
    for headers in ({}, auth("user_admin"), {"Authorization": "Bearer "}, {"Authorization": "Bearer None"}):
        response = await client.get("/metrics", headers=headers)
        assert_problem(response, 404)
        assert "jobrunner_http_requests" not in response.text


async def test_with_a_metrics_token_only_its_bearer_reads_them(client) -> None:
    await client.get("/v1/jobs", headers=auth("user_member"))
    refused = [
        {},
        auth("user_admin"),
        {"Authorization": METRICS_TOKEN},
        {"Authorization": f"Basic {METRICS_TOKEN}"},
        {"Authorization": f"Bearer {METRICS_TOKEN[:-1]}"},
        {"Authorization": f"Bearer {METRICS_TOKEN}x"},
        {"Authorization": "Bearer " + "x" * 10_000},
        {"Authorization": b"Bearer \xff\xfe"},
    ]
    for headers in refused:
        response = await client.get("/metrics", headers=headers)
        body = assert_problem(response, 401)
        assert response.headers["www-authenticate"].startswith("Bearer")
        assert "jobrunner_http_requests" not in response.text and METRICS_TOKEN not in body["detail"]
    response = await client.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    assert response.status_code == 200
    assert 'route="/v1/jobs",status="200"' in response.text
    # The scheme is case-insensitive (RFC 9110).
    assert (await client.get("/metrics", headers={"Authorization": f"bearer {METRICS_TOKEN}"})).status_code == 200


def test_a_short_metrics_token_is_refused_at_start_up(tmp_path) -> None:
    with pytest.raises(ConfigurationError, match="JOBRUNNER_METRICS_TOKEN"):
        load_runtime(Settings(jwt_secret=JWT_SECRET, data_dir=tmp_path, metrics_token="guessable"))
