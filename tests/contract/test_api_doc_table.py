"""docs/api.md's endpoint table and the OpenAPI document describe the same API: every
operation of the document (with every optional part on: demo endpoints, metrics) is a row
of the table and every row an operation, with the same success statuses and the same
problem statuses. A new endpoint without its line in the docs, or a line for an endpoint
that is gone, fails here."""

from __future__ import annotations

import re
from typing import Any

from tests.contract.spec import operations
from tests.support.processes import REPO_ROOT

API_DOC = REPO_ROOT / "docs" / "api.md"
METHODS = {"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"}
SUCCESS = {"200", "201", "202", "204", "206", "304", "307"}
_CELL_SPLIT = re.compile(r"(?<!\\)\|")
_PARAMETER = re.compile(r"\{[^}]+\}")
# A status code, not part of a longer number ("1000", "2,048", "1.500").
_STATUS = re.compile(r"(?<![\d,.])([1-5]\d\d)(?!\d|[,.]\d)")


def _key(method: str, path: str) -> tuple[str, str]:
    """``{jobId}`` in the docs is ``{job_id}`` in the document: parameters compare as ``{}``."""
    return method.upper(), _PARAMETER.sub("{}", path)


def _rows() -> dict[tuple[str, str], tuple[set[str], set[str]]]:
    """(method, path) -> (success statuses, problem statuses) of the "## Endpoints" table."""
    text = API_DOC.read_text()
    section = text.split("\n## Endpoints\n", 1)[1].split("\n## ", 1)[0]
    rows: dict[tuple[str, str], tuple[set[str], set[str]]] = {}
    for line in section.splitlines():
        cells = [cell.strip() for cell in _CELL_SPLIT.split(line.strip())[1:-1]]
        if len(cells) != 5 or cells[0] not in METHODS:
            continue
        method, path_cell, _permissions, success, problems = cells
        path = re.search(r"`([^`]+)`", path_cell)
        assert path, line
        successes = {code for code in _STATUS.findall(success) if code in SUCCESS}
        statuses = set(_STATUS.findall(problems))
        methods = [method] + (["HEAD"] if "(and HEAD)" in path_cell else [])
        for each in methods:
            key = _key(each, path.group(1))
            assert key not in rows, f"{key} twice in docs/api.md"
            rows[key] = (successes, statuses)
    return rows


# Statuses the document declares that an operation never answers: none (a parameter its
# route reads itself is marked so, api/files.py, and declares no 422).
DECLARED_ONLY: dict[tuple[str, str], set[str]] = {}


def _documented(document: dict[str, Any]) -> dict[tuple[str, str], tuple[set[str], set[str]]]:
    found = {}
    for path, method, operation in operations(document):
        codes = set(operation["responses"]) - DECLARED_ONLY.get(_key(method, path), set())
        found[_key(method, path)] = ({c for c in codes if c < "400"}, {c for c in codes if c >= "400"})
    return found


def test_the_endpoint_table_lists_exactly_the_operations(document: dict[str, Any]) -> None:
    table, spec = _rows(), _documented(document)
    assert len(table) > 30
    assert sorted(set(spec) - set(table)) == [], "in /openapi.json, missing from docs/api.md's table"
    assert sorted(set(table) - set(spec)) == [], "in docs/api.md's table, not in /openapi.json"


def test_the_table_states_the_documented_statuses(document: dict[str, Any]) -> None:
    table, spec = _rows(), _documented(document)
    wrong = {
        f"{method} {path}": {"docs": table[key], "openapi": spec[key]}
        for key in table.keys() & spec.keys()
        for method, path in [key]
        if table[key] != spec[key]
    }
    assert wrong == {}


def test_the_operation_ids_named_are_the_documents(document: dict[str, Any]) -> None:
    """The paragraph "Operation ids are stable ..." names every operation id, and only those."""
    text = API_DOC.read_text()
    paragraph = text.split("Operation ids are stable", 1)[1].split("Security is declared", 1)[0]
    named = set(re.findall(r"`([a-z][A-Za-z]+)`", paragraph))
    assert named == {operation["operationId"] for _, _, operation in operations(document)}
