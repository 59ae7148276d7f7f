"""A route class for the polling hot path."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.responses import Response


class DirectRoute(APIRoute):
    """Documented in OpenAPI like any APIRoute, but served without FastAPI's per-request
    machinery (dependency solving, parameter and response validation): the endpoint takes
    the Request and returns a Response. Errors still go through api/errors.py. Its path
    parameters are documented with ``openapi_extra``."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        return self.endpoint
