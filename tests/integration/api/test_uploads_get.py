"""GET /v1/uploads/{id}: the Location of POST /v1/uploads answers what the upload answered,
to its owner only."""

from __future__ import annotations

import uuid

import httpx

from tests.integration.api.conftest import token_for

CSV = b"name,email\nAda,ada@example.com\n"


def bearer(user: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token_for(user)}"}


async def test_the_location_of_an_upload_answers_it_to_its_owner_only(client: httpx.AsyncClient) -> None:
    created = await client.post(
        "/v1/uploads?filename=people.csv", content=CSV, headers={**bearer("user_member"), "Content-Type": "text/csv"}
    )
    assert created.status_code == 201, created.text
    location = created.headers["location"]
    assert location == f"/v1/uploads/{created.json()['uploadId']}"

    mine = await client.get(location, headers=bearer("user_member"))
    assert mine.status_code == 200 and mine.json() == created.json()

    for user in ("user_admin", "user_globex"):  # another user, another organization
        other = await client.get(location, headers=bearer(user))
        assert other.status_code == 404 and other.headers["content-type"].startswith("application/problem+json")
    for ident in (str(uuid.uuid4()), "not-an-id", "x" * 100):
        assert (await client.get(f"/v1/uploads/{ident}", headers=bearer("user_member"))).status_code == 404
    assert (await client.get(location)).status_code == 401
    assert (await client.get(location, headers=bearer("user_viewer"))).status_code == 403
