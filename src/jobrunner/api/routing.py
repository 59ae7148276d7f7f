"""Serving the polling hot path cheaply.

The status endpoint is polled by every open browser tab every few seconds, so it skips
what it does not need: FastAPI's dependency solving and validation (``DirectRoute``) and,
for GET, the router and the exception-middleware layers (``DirectDispatch``). It keeps
everything that matters: the same endpoint function, the same error mapping
(api/errors.py), metrics, and the server-error safety net."""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Sequence
from typing import Any

from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from jobrunner.api.errors import error_response


class DirectRoute(APIRoute):
    """Documented in OpenAPI like any APIRoute, but served without FastAPI's per-request
    machinery (dependency solving, parameter and response validation): the endpoint takes
    the Request and returns a Response. Its path parameters are documented with
    ``openapi_extra``."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        return self.endpoint


class DirectDispatch:
    """Pure ASGI middleware that answers GET requests for DirectRoutes itself (before the
    router); everything else goes the usual way."""

    def __init__(self, app: ASGIApp, routes: Sequence[DirectRoute]) -> None:
        self.app = app
        self.routes = [route for route in routes if "GET" in (route.methods or ())]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET":
            path = scope["path"]
            root = scope.get("root_path", "")
            if root and path.startswith(root):
                path = path[len(root) :]
            for route in self.routes:
                match = route.path_regex.match(path)
                if match is not None:
                    await self._serve(route, match.groupdict(), scope, receive, send)
                    return
        await self.app(scope, receive, send)

    @staticmethod
    async def _serve(route: DirectRoute, params: dict[str, str], scope: Scope, receive: Receive, send: Send) -> None:
        scope["path_params"] = params
        scope["route"] = route
        scope["endpoint"] = route.endpoint
        try:
            response = await route.endpoint(Request(scope, receive, send))
        except Exception as exc:
            app = scope.get("app")
            answer = error_response(exc, getattr(getattr(app, "state", None), "settings", None))
            if answer is None:
                raise  # the app's catch-all: a generic 500, logged
            response = answer
        await response(scope, receive, send)
