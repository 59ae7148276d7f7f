"""Checking HTTP answers against the service's OpenAPI document: ``check_response`` finds
the operation of a request (method and path template), the documented answer for its
status and media type, and validates the body with JSON Schema (formats included)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import httpx
import jsonschema

_FORMATS = jsonschema.Draft202012Validator.FORMAT_CHECKER


def schema_validator(document: dict[str, Any], schema: dict[str, Any]) -> jsonschema.Draft202012Validator:
    """A validator of ``schema`` whose ``#/components/...`` references resolve in ``document``."""
    rooted = {**schema, "components": document.get("components", {})}
    return jsonschema.Draft202012Validator(rooted, format_checker=_FORMATS)


def operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method in {"get", "put", "post", "delete", "patch", "head", "options"}:
                yield path, method, operation


def find_operation(document: dict[str, Any], method: str, path: str) -> tuple[str, dict[str, Any]]:
    for template, item in document["paths"].items():
        pattern = "^" + re.sub(r"\\{[^}]+\\}", "[^/]+", re.escape(template)) + "$"
        if re.match(pattern, path) and method.lower() in item:
            return template, item[method.lower()]
    raise AssertionError(f"{method} {path}: no such operation in the document")


def check_response(document: dict[str, Any], response: httpx.Response) -> None:
    """``response`` is documented: its status, its media type, its headers' presence and its
    body's schema (every 4xx/5xx a problem)."""
    request = response.request
    template, operation = find_operation(document, request.method, request.url.path)
    where = f"{request.method} {template} -> {response.status_code}"
    answer = operation["responses"].get(str(response.status_code))
    assert answer is not None, f"{where}: status not documented"
    media_type = response.headers.get("content-type", "").split(";", 1)[0].strip()
    content = answer.get("content", {})
    if not response.content or request.method == "HEAD":
        return
    assert media_type in content, f"{where}: {media_type} not documented ({list(content)})"
    schema = content[media_type].get("schema")
    assert schema is not None, f"{where}: {media_type} has no schema"
    if media_type.endswith("json"):
        body = json.loads(response.content)
        errors = sorted(schema_validator(document, schema).iter_errors(body), key=lambda e: list(e.path))
        assert not errors, f"{where}: " + "; ".join(f"{list(e.path)}: {e.message}" for e in errors[:5])
