"""``POST /v1/uploads`` takes the CSV as a ``multipart/form-data`` form as well as the raw
body (issue 16): the file part is streamed to storage, its name used when ``?filename=``
is absent; a form without the file, with two of them, or a malformed one is a 422."""

from __future__ import annotations

import pytest

from tests.integration.api.conftest import app, assert_problem, auth, client, db, settings  # noqa: F401

CSV = b"name,email,country\nAda,ada@example.com,GB\n"


@pytest.fixture
def settings(tmp_path):  # noqa: F811
    from jobrunner.settings import Settings

    return Settings(data_dir=tmp_path, pool_min_size=1, pool_max_size=4)


async def test_a_form_upload_stores_the_file_part(client, tmp_path):  # noqa: F811
    files = {"file": ("people.csv", CSV, "text/csv")}
    response = await client.post("/v1/uploads", files=files, data={"note": "x" * 5000}, headers=auth("user_admin"))
    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["filename"], body["sizeBytes"]) == ("people.csv", len(CSV))
    stored = list(tmp_path.rglob(f"{body['uploadId']}.csv"))
    assert [path.read_bytes() for path in stored] == [CSV]

    named = await client.post("/v1/uploads?filename=mine.csv", files=files, headers=auth("user_admin"))
    assert named.json()["filename"] == "mine.csv"
    raw = await client.post("/v1/uploads", content=CSV, headers={**auth("user_admin"), "Content-Type": "text/csv"})
    assert raw.status_code == 201 and raw.json()["sizeBytes"] == len(CSV)


async def test_a_form_without_exactly_one_file_is_refused(client):  # noqa: F811
    headers = auth("user_admin")
    no_file = await client.post("/v1/uploads", files={"other": ("a.csv", CSV, "text/csv")}, headers=headers)
    assert assert_problem(no_file, 422)["errors"][0]["loc"] == "file"
    two = [("file", ("a.csv", CSV, "text/csv")), ("file", ("b.csv", CSV, "text/csv"))]
    assert_problem(await client.post("/v1/uploads", files=two, headers=headers), 422)
    broken = await client.post(
        "/v1/uploads",
        content=b"--xyz\r\nno headers end",
        headers={**headers, "Content-Type": "multipart/form-data; boundary=xyz"},
    )
    assert_problem(broken, 422)
    assert_problem(
        await client.post("/v1/uploads", content=CSV, headers={**headers, "Content-Type": "application/pdf"}), 415
    )
