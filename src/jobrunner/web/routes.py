"""The jobs page and its static files, plus the demo sign-in endpoints.

``router`` serves ``/`` (the jobs page), ``/console`` (the operations console) and
``/static/<file>`` (only the files shipped in ``static/``, nothing from outside the package). ``demo_router`` serves ``GET /v1/demo/users`` and
``POST /v1/demo/token``; the app includes it only when ``settings.demo_mode`` is true, so
those endpoints do not exist otherwise. Errors are raised as ``jobrunner.domain.errors``
classes and become problem details in ``api/errors.py``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import FileResponse

from jobrunner.api.errors import problem_responses
from jobrunner.api.openapi import PUBLIC
from jobrunner.auth.tokens import issue_token
from jobrunner.db.seed import DEMO_USERS
from jobrunner.domain.errors import InvalidInput, NotFound

STATIC_DIR = Path(__file__).parent / "static"
_MEDIA_TYPES = {
    ".html": "text/html",
    ".js": "text/javascript",
    ".css": "text/css",
    ".png": "image/png",
    ".svg": "image/svg+xml",
}
# Only the page's own files, found once at import: a request can never name anything else.
STATIC_FILES = {path.name: path for path in STATIC_DIR.iterdir() if path.suffix in _MEDIA_TYPES}

# The page loads nothing from anywhere but this service.
_PAGE_HEADERS = {
    "Cache-Control": "no-cache",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    ),
}

router = APIRouter(tags=["page"], include_in_schema=False)


def _file(path: Path) -> FileResponse:
    return FileResponse(path, media_type=_MEDIA_TYPES[path.suffix], headers=_PAGE_HEADERS)


@router.get("/")
async def jobs_page() -> FileResponse:
    """The jobs page."""
    return _file(STATIC_FILES["index.html"])


@router.get("/console")
async def console_page() -> FileResponse:
    """The operations console (its API needs jobs.manage_jobs; see docs/console.md)."""
    return _file(STATIC_FILES["console.html"])


@router.get("/static/{name}", responses=problem_responses(404))
async def static_file(name: str) -> FileResponse:
    path = STATIC_FILES.get(name)
    if path is None:
        raise NotFound(f"no static file {name!r}")
    return _file(path)


demo_router = APIRouter(prefix="/v1/demo", tags=["demo"])


class DemoTokenRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    userId: Annotated[str, Field(min_length=1, max_length=64)]


class DemoUser(BaseModel):
    userId: str
    organizationId: str
    role: str
    displayName: str


class DemoUsersResponse(BaseModel):
    users: list[DemoUser]


class DemoTokenResponse(BaseModel):
    token: str = Field(description="A JWT: send it as `Authorization: Bearer <token>`.")
    tokenType: Literal["Bearer"]
    expiresIn: int = Field(description="Seconds until the token expires.")
    userId: str
    organizationId: str


@demo_router.get(
    "/users",
    operation_id="listDemoUsers",
    summary="Demo users one may sign in as (demo mode only)",
    openapi_extra={"security": PUBLIC},
    responses={200: {"model": DemoUsersResponse, "description": "The demo users"}},
)
async def demo_users() -> dict:
    return {
        "users": [
            {"userId": u.user_id, "organizationId": u.organization_id, "role": u.role, "displayName": u.display_name}
            for u in DEMO_USERS
        ]
    }


@demo_router.post(
    "/token",
    operation_id="createDemoToken",
    summary="A bearer token for a demo user (demo mode only)",
    openapi_extra={"security": PUBLIC},
    responses={
        200: {"model": DemoTokenResponse, "description": "The token"},
        **problem_responses(413, 422),
    },
)
async def demo_token(body: DemoTokenRequest, request: Request) -> dict:
    user = next((u for u in DEMO_USERS if u.user_id == body.userId), None)
    if user is None:
        raise InvalidInput("unknown demo user", [{"loc": "userId", "message": f"no demo user {body.userId!r}"}])
    settings = request.app.state.settings
    ttl = min(settings.token_ttl_seconds, settings.max_token_ttl_seconds)
    token = issue_token(request.app.state.jwt_secret, user.user_id, user.organization_id, ttl)
    return {
        "token": token,
        "tokenType": "Bearer",
        "expiresIn": ttl,
        "userId": user.user_id,
        "organizationId": user.organization_id,
    }
