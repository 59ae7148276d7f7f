"""The OpenAPI document holds up (issue 16): it validates, lints clean with Redocly's
recommended rules, its examples match their schemas, and the conventions every endpoint
follows (operation ids, problems, security, formats, typed jobs) hold for every
operation in it, including ones added later."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from openapi_spec_validator import validate

from jobrunner.domain.jobtypes import JOB_TYPES
from tests.contract.conftest import run_node_tool
from tests.contract.spec import operations, schema_validator

IGNORE_FILE = ".redocly.lint-ignore.yaml"
PROBLEM_TYPES = {"application/problem+json"}
LOWER_CAMEL = re.compile(r"^[a-z][a-zA-Z0-9]*$")


def test_the_document_validates(document: dict[str, Any]) -> None:
    validate(document)
    assert document["servers"] and document["info"]["license"]["name"]


@pytest.mark.slow
def test_redocly_recommended_rules_pass(node_tools: Path, spec_file: Path, tmp_path: Path) -> None:
    """Its recommended rules; ``node/.redocly.lint-ignore.yaml`` lists the two operations
    that have no client error to declare (``/healthz``, ``/v1/demo/users``)."""
    shutil.copy(spec_file, tmp_path / "openapi.json")
    shutil.copy(node_tools / IGNORE_FILE, tmp_path / IGNORE_FILE)
    run = run_node_tool(
        node_tools, "redocly", "lint", "--extends=recommended", "--format=stylish", "openapi.json", cwd=tmp_path
    )
    report = run.stdout + run.stderr
    assert run.returncode == 0, report
    assert "warning" not in report.replace("Deprecation warning", ""), report


def _examples(node: Any, where: str = "") -> list[tuple[str, dict[str, Any], Any]]:
    """(where, schema, example) for every example next to a schema, anywhere."""
    found: list[tuple[str, dict[str, Any], Any]] = []
    if isinstance(node, dict):
        if isinstance(node.get("examples"), list) and ("type" in node or "properties" in node or "oneOf" in node):
            found += [(where, node, example) for example in node["examples"]]
        if "schema" in node and "example" in node:
            found.append((where, node["schema"], node["example"]))
        for name, value in node.get("examples", {}).items() if isinstance(node.get("examples"), dict) else ():
            if "schema" in node and isinstance(value, dict) and "value" in value:
                found.append((f"{where}/examples/{name}", node["schema"], value["value"]))
        for key, value in node.items():
            found += _examples(value, f"{where}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += _examples(value, f"{where}/{index}")
    return found


def test_every_example_matches_its_schema(document: dict[str, Any]) -> None:
    examples = _examples(document)
    assert len(examples) >= 5
    for where, schema, example in examples:
        errors = [error.message for error in schema_validator(document, schema).iter_errors(example)]
        assert not errors, (where, errors)


def test_every_operation_follows_the_conventions(document: dict[str, Any]) -> None:
    ids = []
    for path, method, operation in operations(document):
        where = f"{method.upper()} {path}"
        ids.append(operation.get("operationId"))
        assert LOWER_CAMEL.match(operation.get("operationId", "")), (
            f"{where}: operationId {operation.get('operationId')}"
        )
        assert "security" in operation, where
        for status, answer in operation["responses"].items():
            content = answer.get("content", {})
            if status >= "400":
                assert set(content) == PROBLEM_TYPES, (where, status)
                name = "ValidationProblem" if status == "422" else "Problem"
                assert content["application/problem+json"]["schema"] == {"$ref": f"#/components/schemas/{name}"}
            for media_type, body in content.items():
                assert "schema" in body, (where, status, media_type)
            if status == "401":
                assert "WWW-Authenticate" in answer["headers"], where
            if status in ("429", "503"):
                assert "Retry-After" in answer["headers"], (where, status)
        for parameter in operation.get("parameters", []):
            if parameter["in"] == "path" and parameter["name"].endswith("id"):
                assert parameter["schema"].get("format") == "uuid", (where, parameter["name"])
    assert len(ids) == len(set(ids)), "operation ids repeat"


def _properties(schemas: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (schema_name, name, prop)
        for schema_name, schema in schemas.items()
        for name, prop in schema.get("properties", {}).items()
    ]


def _types(prop: dict[str, Any]) -> list[dict[str, Any]]:
    return [option for option in prop.get("anyOf", [prop]) if option.get("type") != "null"]


def test_formats_and_optional_keys(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    for schema_name, name, prop in _properties(schemas):
        if name.endswith("At") and _types(prop)[0].get("type") == "string":
            assert _types(prop)[0].get("format") == "date-time", (schema_name, name)
        if name in ("id", "jobId", "uploadId") and schema_name.endswith(("Job", "Response")):
            assert _types(prop)[0].get("format") == "uuid", (schema_name, name)
        # A generator reads a default as "always present": optional keys have none.
        if name not in schemas[schema_name].get("required", []):
            assert "default" not in prop, (schema_name, name)
    problem, validation = schemas["Problem"], schemas["ValidationProblem"]
    assert "errors" not in problem["properties"] and "errors" in validation["required"]
    assert "requestId" in problem["properties"] and "requestId" not in problem["required"]
    create = schemas["ExportReportJobRequest"]
    assert set(create["required"]) == {"jobType", "payload"}


def test_jobs_are_unions_by_job_type_including_custom_types(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    assert "test_work" in JOB_TYPES  # declared by tests/support/processors.py (JOBRUNNER_IMPORTS)
    for union, suffix in (("CreateJobRequest", "JobRequest"), ("JobOut", "Job")):
        mapping = schemas[union]["discriminator"]["mapping"]
        assert schemas[union]["discriminator"]["propertyName"] == "jobType"
        assert set(mapping) == set(JOB_TYPES), union
        assert mapping["test_work"] == f"#/components/schemas/TestWork{suffix}"
        for name, ref in mapping.items():
            variant = schemas[ref.rsplit("/", 1)[1]]
            assert variant["properties"]["jobType"]["const"] == name
    payload = schemas["ExportReportPayload"]["properties"]
    assert payload["format"]["enum"] == ["csv", "json", "xlsx"]
    assert payload["reportType"]["type"] == "string" and "quotes" in payload["reportType"]["examples"]
    result = schemas["ExportReportJob"]["properties"]["result"]["anyOf"][0]
    assert result == {"$ref": "#/components/schemas/ExportReportResult"}
    assert {"downloadUrl", "fileSize", "recordCount", "expiresAt"} <= set(schemas["ExportReportResult"]["properties"])


def test_security_as_enforced(document: dict[str, Any]) -> None:
    paths = document["paths"]
    assert paths["/v1/demo/token"]["post"]["security"] == []
    assert paths["/v1/demo/users"]["get"]["security"] == []
    assert paths["/healthz"]["get"]["security"] == []
    assert paths["/metrics"]["get"]["security"] == [{"metricsToken": []}]
    assert list(paths["/metrics"]["get"]["responses"]["200"]["content"]) == ["text/plain"]
    signed = [{"signedLinkExpires": [], "signedLinkSignature": []}, {"bearerAuth": []}]
    for path in ("/v1/exports/{job_id}/download", "/v1/imports/{job_id}/rejected-rows"):
        operation = paths[path]["get"]
        assert operation["security"] == signed, path
        assert {"Range", "expires", "sig"} <= {p["name"] for p in operation["parameters"]}, path
        assert {"Content-Range", "Accept-Ranges"} <= set(operation["responses"]["206"]["headers"]), path
        assert "Content-Disposition" in operation["responses"]["200"]["headers"], path
    status = paths["/v1/jobs/{job_id}/status"]["get"]
    assert "If-None-Match" in {p["name"] for p in status["parameters"]}
    assert paths["/v1/jobs"]["get"]["security"] == [{"bearerAuth": []}]
    upload = paths["/v1/uploads"]["post"]["requestBody"]["content"]
    assert set(upload) == {"text/csv", "multipart/form-data"}


def test_the_documented_report_types_are_the_built_in_reports(document: dict[str, Any]) -> None:
    from jobrunner.domain.payloads import KNOWN_REPORT_TYPES
    from jobrunner.reports import REPORTS

    assert set(KNOWN_REPORT_TYPES) <= set(REPORTS)
    described = document["components"]["schemas"]["ExportReportPayload"]["properties"]["reportType"]
    assert all(f"`{name}`" in described["description"] for name in KNOWN_REPORT_TYPES)
