"""The named SQL statements of ``queries/*.sql``.

Each statement starts with a ``-- name: <name>`` line; comments above the name line are
documentation. ``Q.claim_jobs`` is the text of the statement named ``claim_jobs``.

A ``-- fragment: <name>`` line starts a piece of SQL that statements of any file include
as ``{{name}}`` (e.g. ``job_columns``, the one list of a job's columns); fragments are
not statements.
"""

from __future__ import annotations

import re
from pathlib import Path

QUERIES_DIR = Path(__file__).parent / "queries"
_NAME_LINE = re.compile(r"^--\s*(name|fragment):\s*(\w+)\s*$", re.M)
_INCLUDE = re.compile(r"\{\{(\w+)\}\}")


def parse_all(text: str) -> tuple[dict[str, str], dict[str, str]]:
    """The statements and the fragments of one file, as written (fragments not included)."""
    found: dict[str, dict[str, str]] = {"name": {}, "fragment": {}}
    parts = _NAME_LINE.split(text)
    # parts = [preamble, kind1, name1, body1, kind2, name2, body2, ...]
    for kind, name, body in zip(parts[1::3], parts[2::3], parts[3::3]):
        if name in found["name"] or name in found["fragment"]:
            raise ValueError(f"duplicate query name {name!r}")
        statement = body.strip()
        # Trailing comment lines belong to the next statement's documentation.
        lines = statement.splitlines()
        while lines and lines[-1].lstrip().startswith("--"):
            lines.pop()
        found[kind][name] = "\n".join(lines).strip().rstrip(";")
    return found["name"], found["fragment"]


def parse(text: str) -> dict[str, str]:
    """The statements of one file, fragments included."""
    queries, fragments = parse_all(text)
    return {name: include(statement, fragments) for name, statement in queries.items()}


def include(statement: str, fragments: dict[str, str]) -> str:
    def fragment(match: re.Match[str]) -> str:
        try:
            return fragments[match.group(1)]
        except KeyError:
            raise ValueError(f"no SQL fragment named {match.group(1)!r}") from None

    return _INCLUDE.sub(fragment, statement)


class _Queries:
    def __init__(self) -> None:
        self._queries: dict[str, str] = {}
        fragments: dict[str, str] = {}
        for path in sorted(QUERIES_DIR.glob("*.sql")):
            statements, pieces = parse_all(path.read_text())
            for name, statement in (*statements.items(), *pieces.items()):
                if name in self._queries or name in fragments:
                    raise ValueError(f"query {name!r} defined twice ({path.name})")
                (fragments if name in pieces else self._queries)[name] = statement
        for name, statement in self._queries.items():
            self._queries[name] = include(statement, fragments)

    def __getattr__(self, name: str) -> str:
        try:
            return self._queries[name]
        except KeyError:
            raise AttributeError(f"no SQL statement named {name!r} in {QUERIES_DIR}") from None

    def names(self) -> list[str]:
        return sorted(self._queries)


Q = _Queries()
