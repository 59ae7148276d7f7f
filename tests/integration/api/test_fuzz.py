"""No input, however malformed, produces a 500: random JSON bodies, ids, queries and
headers against every endpoint, always answered with a 4xx problem or a success."""

from __future__ import annotations

from urllib.parse import quote

import json
from hypothesis import HealthCheck, given, settings as hsettings, strategies as st

from tests.integration.api.conftest import EXPORT_BODY, auth

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False)
    | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=12,
)
bodies = st.one_of(
    json_values,
    st.fixed_dictionaries(
        {"jobType": st.sampled_from(["export_report", "sync", ""]) | st.text(max_size=5), "payload": json_values},
        optional={"priority": json_values, "maxRetries": json_values, "scheduledAt": json_values},
    ),
    st.fixed_dictionaries(
        {
            "jobType": st.just("export_report"),
            "payload": st.fixed_dictionaries(
                {"reportType": json_values, "format": st.sampled_from(["csv", "json", "xlsx", "pdf"])},
                optional={"filters": json_values},
            ),
        }
    ),
)
FUZZ = hsettings(max_examples=60, deadline=None, database=None, suppress_health_check=list(HealthCheck))


def samples(**strategies):
    """Hypothesis drives synchronous tests only: draw the examples first, then send them
    (no shrinking, but every failing input is printed by the assertion)."""
    drawn = []

    @FUZZ
    @given(**strategies)
    def collect(**example):
        drawn.append(example)

    collect()
    return drawn


def _check(response) -> None:
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        assert response.headers["content-type"] == "application/problem+json"


async def test_random_create_bodies(client):
    for example in samples(body=bodies):
        response = await client.post(
            "/v1/jobs",
            content=json.dumps(example["body"]),
            headers={**auth("user_admin"), "Content-Type": "application/json"},
        )
        _check(response)


async def test_random_bytes_ids_queries_and_headers(client):
    for example in samples(
        raw=st.binary(max_size=200),
        job_id=st.text(min_size=1, max_size=80),
        query=st.dictionaries(
            st.sampled_from(["page", "pageSize", "status", "jobType", "x"]), st.text(max_size=12), max_size=4
        ),
        token=st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126), max_size=60),
        content_type=st.sampled_from(
            ["application/json", "text/plain", "", "application/json; charset=x", "application/problem+json"]
        ),
    ):
        raw, job_id, query = example["raw"], example["job_id"], example["query"]
        token, content_type = example["token"], example["content_type"]
        headers = {**auth("user_admin"), "Content-Type": content_type}
        _check(await client.post("/v1/jobs", content=raw, headers=headers))
        segment = quote(job_id, safe="")
        for method, suffix in [("GET", "status"), ("POST", "cancel"), ("POST", "retry")]:
            _check(await client.request(method, f"/v1/jobs/{segment}/{suffix}", headers=auth("user_admin")))
        _check(await client.get("/v1/jobs", params=query, headers=auth("user_admin")))
        _check(await client.get("/v1/jobs", headers={"Authorization": f"Bearer {token}"}))
        _check(await client.post("/v1/jobs", json=EXPORT_BODY, headers={"Authorization": token}))


async def test_random_inputs_on_the_other_endpoints(client):
    """Uploads, integrations, downloads, rejected rows and /v1/me get the same treatment."""
    for example in samples(
        raw=st.binary(max_size=200),
        body=json_values,
        segment=st.text(min_size=1, max_size=80),
        query=st.dictionaries(st.sampled_from(["expires", "sig", "x"]), st.text(max_size=20), max_size=3),
        token=st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126), max_size=60),
        content_type=st.sampled_from(["text/csv", "application/json", "text/plain", "", "multipart/form-data"]),
    ):
        segment = quote(example["segment"], safe="")
        admin = auth("user_admin")
        _check(
            await client.post(
                "/v1/uploads", content=example["raw"], headers={**admin, "Content-Type": example["content_type"]}
            )
        )
        _check(
            await client.put(
                f"/v1/integrations/{segment}",
                content=json.dumps(example["body"]),
                headers={**admin, "Content-Type": "application/json"},
            )
        )
        _check(await client.get(f"/v1/integrations/{segment}", headers=admin))
        _check(await client.get(f"/v1/exports/{segment}/download", params=example["query"]))
        _check(await client.head(f"/v1/exports/{segment}/download", headers=admin))
        _check(await client.get(f"/v1/imports/{segment}/rejected-rows", params=example["query"], headers=admin))
        _check(await client.get("/v1/me", headers={"Authorization": f"Bearer {example['token']}"}))
