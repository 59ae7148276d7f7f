"""The interactive API documentation at ``/docs``, working offline: Swagger UI's script,
stylesheet and icon come from this service (``/docs/assets/<file>``), served from the
``fastapi-offline`` package that bundles them (Swagger UI is Apache-2.0, see that
package's licence), never from a CDN."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_swagger_ui_html
from starlette.responses import FileResponse, HTMLResponse

from jobrunner.api.errors import problem_responses
from jobrunner.domain.errors import NotFound

ASSETS_URL = "/docs/assets"
_ASSETS_DIR = Path(str(files("fastapi_offline") / "static"))
# Only these files, found once at import: a request can never name anything else.
ASSETS = {name: _ASSETS_DIR / name for name in ("swagger-ui-bundle.js", "swagger-ui.css", "favicon.png")}
_ASSET_HEADERS = {"Cache-Control": "public, max-age=3600", "X-Content-Type-Options": "nosniff"}

router = APIRouter(tags=["docs"], include_in_schema=False)


@router.get("/docs")
async def swagger_ui(request: Request) -> HTMLResponse:
    return get_swagger_ui_html(
        openapi_url=request.app.openapi_url,
        title=f"{request.app.title} - API documentation",
        swagger_js_url=f"{ASSETS_URL}/swagger-ui-bundle.js",
        swagger_css_url=f"{ASSETS_URL}/swagger-ui.css",
        swagger_favicon_url=f"{ASSETS_URL}/favicon.png",
        # No badge that asks validator.swagger.io about our document.
        swagger_ui_parameters={"validatorUrl": None},
    )


@router.get(f"{ASSETS_URL}/{{name}}", responses=problem_responses(404))
async def swagger_asset(name: str) -> FileResponse:
    path = ASSETS.get(name)
    if path is None:
        raise NotFound(f"no documentation asset {name!r}")
    return FileResponse(path, headers=_ASSET_HEADERS)
