"""The OpenAPI document, made for generated clients (openapi-python-client, openapi-typescript
with openapi-fetch; tests/contract/ runs both):

- the creation body and the job are unions told apart by ``jobType``, one schema per
  declared job type (``domain.jobtypes.JOB_TYPES``: custom job types join by being
  declared), with the type's payload and result models inside;
- component schemas are made here from the pydantic models of the routes (FastAPI's own
  copy drops every null from examples, which makes them invalid);
- a property that may be absent has no ``default`` (generators read a default as "always
  present"); the default is written in its description instead;
- every problem is ``Problem`` (``ValidationProblem``, with ``errors``, on 422);
- security is what each route declares (``openapi_extra``), bearer JWT otherwise."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute, iter_route_contexts
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from jobrunner.api.errors import PROBLEM_MEDIA_TYPE, Problem, ValidationProblem, problem_content
from jobrunner.api.files import READ_BY_ROUTE
from jobrunner.domain.jobtypes import JOB_TYPES
from jobrunner.jobs.models import (
    EXAMPLE_CREATE_BODY,
    EXAMPLE_JOB,
    CreateJobRequest,
    JobOut,
    create_job_variants,
    job_out_variants,
)

BEARER_AUTH = "bearerAuth"
SECURITY_SCHEMES: dict[str, Any] = {
    BEARER_AUTH: {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
    "metricsToken": {
        "type": "http",
        "scheme": "bearer",
        "description": "The JOBRUNNER_METRICS_TOKEN of the service (not a JWT).",
    },
    "signedLinkExpires": {
        "type": "apiKey",
        "in": "query",
        "name": "expires",
        "description": "A signed link's expiry (Unix seconds); comes with `sig`, both from a job's result.",
    },
    "signedLinkSignature": {
        "type": "apiKey",
        "in": "query",
        "name": "sig",
        "description": "A signed link's signature; comes with `expires`.",
    },
}
PUBLIC: list[dict[str, list[str]]] = []
"""``openapi_extra={"security": PUBLIC}``: the operation answers without a token."""
SIGNED_LINK_OR_BEARER: list[dict[str, list[str]]] = [
    {"signedLinkExpires": [], "signedLinkSignature": []},
    {BEARER_AUTH: []},
]
"""A file behind a signed link (``?expires=&sig=``) or the owner's bearer token."""
METRICS_TOKEN: list[dict[str, list[str]]] = [{"metricsToken": []}]

SERVERS = [{"url": "/", "description": "This service"}]
LICENSE = {"name": "MIT", "identifier": "MIT"}
_REF = "#/components/schemas/{model}"
_FASTAPI_VALIDATION_SCHEMAS = ("HTTPValidationError", "ValidationError")


_REFERENCED: list[type[BaseModel]] = []


def links(parameter: str, expression: str, *operations: str) -> dict[str, Any]:
    """OpenAPI links: what a client does next with an id in an answer (``expression``,
    e.g. ``$response.body#/id``), as ``parameter`` of each of ``operations``. Declared
    rather than left to inference: schemathesis' stateful run follows them, and an
    inferred link into a list's items draws differently as the list grows."""
    return {operation: {"operationId": operation, "parameters": {parameter: expression}} for operation in operations}


def schema_ref(model: type[BaseModel]) -> dict[str, str]:
    """``{"$ref": ...}`` to ``model``'s component schema, for a route's ``openapi_extra``
    (a body the route reads itself); the document then includes the model."""
    _REFERENCED.append(model)
    return {"$ref": _REF.format(model=model.__name__)}


def _model_schemas(models: Iterable[type[BaseModel]]) -> dict[str, Any]:
    """The JSON schemas of ``models`` and of everything they use, by name."""
    unique = list(dict.fromkeys(models))
    names, definitions = models_json_schema([(model, "validation") for model in unique], ref_template=_REF)
    schemas: dict[str, Any] = definitions.get("$defs", {})
    for (model, _), reference in names.items():
        name = reference["$ref"].rsplit("/", 1)[1]
        if name != model.__name__:  # pydantic disambiguates equal names with the module
            raise ValueError(f"two schemas are named {model.__name__}; rename one")
    return schemas


def _union(variants: Mapping[str, type[BaseModel]], example: dict[str, Any], description: str) -> dict[str, Any]:
    refs = {name: _REF.format(model=model.__name__) for name, model in variants.items()}
    return {
        "description": description,
        "oneOf": [{"$ref": ref} for ref in refs.values()],
        "discriminator": {"propertyName": "jobType", "mapping": refs},
        "examples": [example] if example["jobType"] in variants else [],
    }


def _route_models(routes: Iterable[Any]) -> Iterator[type[BaseModel]]:
    """The pydantic models of the documented routes' bodies and answers."""
    for context in iter_route_contexts(list(routes)):
        route = context.original_route
        if not isinstance(route, APIRoute) or not route.include_in_schema:
            continue
        candidates = [route.response_model, *(answer.get("model") for answer in route.responses.values())]
        if route.body_field is not None:
            candidates.append(route.body_field.field_info.annotation)
        yield from (model for model in candidates if isinstance(model, type) and issubclass(model, BaseModel))


def _without_defaults(schema: Any) -> None:
    """Moves each default of an optional property into its description (in place)."""
    if isinstance(schema, list):
        for item in schema:
            _without_defaults(item)
        return
    if not isinstance(schema, dict):
        return
    required = set(schema.get("required", ()))
    for name, prop in schema.get("properties", {}).items():
        if isinstance(prop, dict) and "default" in prop and name not in required:
            default = json.dumps(prop.pop("default"))
            text = prop.get("description", "").rstrip()
            prop["description"] = f"{text} Default: `{default}`.".strip()
    for value in schema.values():
        _without_defaults(value)


def _is_fastapi_validation(response: dict[str, Any]) -> bool:
    schema = response.get("content", {}).get("application/json", {}).get("schema", {})
    return schema.get("$ref", "").endswith("/HTTPValidationError")


def _validates_parameters(operation: dict[str, Any]) -> bool:
    """Does FastAPI validate a parameter of this operation (a query or header parameter,
    or a path parameter with a constraint)? Then it can answer 422."""
    for parameter in operation.get("parameters", []):
        if parameter.get(READ_BY_ROUTE):
            continue
        schema = parameter.get("schema", {})
        if parameter.get("in") != "path" or schema.get("type") != "string":
            return True
        if set(schema) - {"type", "title", "description", "format"}:
            return True
    return False


def _fix_responses(operation: dict[str, Any]) -> None:
    responses = operation.get("responses", {})
    # FastAPI adds a 422 to every operation with parameters; it is real (as a problem)
    # where a parameter is validated, and never happens otherwise.
    if "422" in responses and _is_fastapi_validation(responses["422"]):
        if _validates_parameters(operation):
            responses["422"] = {"description": "Invalid parameters", "content": problem_content(422)}
        else:
            del responses["422"]
    for status, response in responses.items():
        if status >= "400" and PROBLEM_MEDIA_TYPE in response.get("content", {}):
            response["content"].pop("application/json", None)
    for parameter in operation.get("parameters", []):
        parameter.pop(READ_BY_ROUTE, None)


def build_openapi(app: FastAPI) -> dict[str, Any]:
    if app.openapi_schema:
        return app.openapi_schema
    document = get_openapi(
        title=app.title,
        version=app.version,
        description=app.description,
        routes=app.routes,
        servers=SERVERS,
        license_info=LICENSE,
    )
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    for name in _FASTAPI_VALIDATION_SCHEMAS:
        schemas.pop(name, None)
    creates = create_job_variants(JOB_TYPES.values())
    jobs = job_out_variants(JOB_TYPES.values())
    models: list[type[BaseModel]] = [
        *_route_models(app.routes),
        *_REFERENCED,
        Problem,
        ValidationProblem,
        CreateJobRequest,
        *creates.values(),
        *jobs.values(),
    ]
    schemas.update(_model_schemas(models))
    if JOB_TYPES:  # else (no job type declared yet) the generic schemas stay
        schemas[CreateJobRequest.__name__] = _union(
            creates, EXAMPLE_CREATE_BODY, "A job to create: the fields of its `jobType`."
        )
        schemas[JobOut.__name__] = _union(jobs, EXAMPLE_JOB, "A job; `payload` and `result` are its `jobType`'s.")
    _without_defaults(schemas)
    document["components"]["securitySchemes"] = SECURITY_SCHEMES
    for operations in document.get("paths", {}).values():
        for operation in operations.values():
            _fix_responses(operation)
            operation.setdefault("security", [{BEARER_AUTH: []}])
    document["components"]["schemas"] = dict(sorted(schemas.items()))
    app.openapi_schema = document
    return document
