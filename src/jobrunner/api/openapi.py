"""The OpenAPI document, made truthful: every problem answer is problem+json, requests
authenticate with a bearer JWT, and the create body is the model the service validates."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from jobrunner.api.errors import PROBLEM_MEDIA_TYPE, Problem
from jobrunner.jobs.models import CreateJobRequest

BEARER = {"bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}}
_FASTAPI_VALIDATION_SCHEMAS = ("HTTPValidationError", "ValidationError")


def _model_schemas(*models: Any) -> dict[str, Any]:
    schemas: dict[str, Any] = {}
    for model in models:
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas.update(schema.pop("$defs", {}))
        schemas[model.__name__] = schema
    return schemas


def _is_fastapi_validation(response: dict[str, Any]) -> bool:
    schema = response.get("content", {}).get("application/json", {}).get("schema", {})
    return schema.get("$ref", "").endswith("/HTTPValidationError")


def _validates_parameters(operation: dict[str, Any]) -> bool:
    """Does FastAPI validate a parameter of this operation (a query or header parameter,
    or a path parameter with a constraint)? Then it can answer 422."""
    for parameter in operation.get("parameters", []):
        schema = parameter.get("schema", {})
        if parameter.get("in") != "path" or schema.get("type") != "string":
            return True
        if set(schema) - {"type", "title", "description", "format"}:
            return True
    return False


def _problem(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }


def build_openapi(app: FastAPI) -> dict[str, Any]:
    if app.openapi_schema:
        return app.openapi_schema
    document = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
    components = document.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    schemas.update(_model_schemas(Problem, CreateJobRequest))
    for name in _FASTAPI_VALIDATION_SCHEMAS:
        schemas.pop(name, None)
    components["securitySchemes"] = BEARER
    for path, operations in document.get("paths", {}).items():
        for operation in operations.values():
            responses = operation.get("responses", {})
            # FastAPI adds a 422 to every operation with parameters; it is real (as a
            # problem) where a parameter is validated, and never happens otherwise
            # (non-UUID job ids are a 404).
            if "422" in responses and _is_fastapi_validation(responses["422"]):
                if _validates_parameters(operation):
                    responses["422"] = _problem("Invalid parameters")
                else:
                    del responses["422"]
            for status, response in responses.items():
                if status >= "400" and PROBLEM_MEDIA_TYPE in response.get("content", {}):
                    response["content"].pop("application/json", None)
            if path.startswith("/v1/"):
                operation["security"] = [{"bearerAuth": []}]
    app.openapi_schema = document
    return document
