"""``/docs`` works without internet: the page names only this service's own assets, and
they answer with the right content types."""

from __future__ import annotations

import re
from pathlib import Path

from tests.integration.api.conftest import assert_problem

ASSET_TYPES = {".js": "javascript", ".css": "text/css", ".png": "image/png"}


async def test_the_docs_page_loads_only_assets_of_the_service(client) -> None:
    page = await client.get("/docs")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    html = page.text
    assert "//" not in html.replace("<!DOCTYPE html>", ""), html  # no absolute URL, no CDN
    urls = re.findall(r'(?:src|href)="([^"]+)"', html) + re.findall(r"url: '([^']+)'", html)
    assert len(urls) == 4 and all(url.startswith("/") for url in urls), urls
    for url in urls:
        answer = await client.get(url)
        assert answer.status_code == 200, url
        if url == "/openapi.json":
            assert answer.json()["paths"]
            continue
        assert ASSET_TYPES[Path(url).suffix] in answer.headers["content-type"], (url, answer.headers)
        assert len(answer.content) > 1000
    assert b"SwaggerUIBundle" in (await client.get("/docs/assets/swagger-ui-bundle.js")).content
    assert_problem(await client.get("/docs/assets/redoc.standalone.js"), 404)
    assert_problem(await client.get("/docs/assets/..%2F__init__.py"), 404)
