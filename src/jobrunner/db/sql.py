"""The named SQL statements of ``queries/*.sql``.

Each statement starts with a ``-- name: <name>`` line; comments above the name line are
documentation. ``Q.claim_jobs`` is the text of the statement named ``claim_jobs``.
"""

from __future__ import annotations

import re
from pathlib import Path

QUERIES_DIR = Path(__file__).parent / "queries"
_NAME_LINE = re.compile(r"^--\s*name:\s*(\w+)\s*$", re.M)


def parse(text: str) -> dict[str, str]:
    queries: dict[str, str] = {}
    parts = _NAME_LINE.split(text)
    # parts = [preamble, name1, body1, name2, body2, ...]
    for name, body in zip(parts[1::2], parts[2::2]):
        if name in queries:
            raise ValueError(f"duplicate query name {name!r}")
        statement = body.strip()
        # Trailing comment lines belong to the next statement's documentation.
        lines = statement.splitlines()
        while lines and lines[-1].lstrip().startswith("--"):
            lines.pop()
        queries[name] = "\n".join(lines).strip().rstrip(";")
    return queries


class _Queries:
    def __init__(self) -> None:
        self._queries: dict[str, str] = {}
        for path in sorted(QUERIES_DIR.glob("*.sql")):
            for name, statement in parse(path.read_text()).items():
                if name in self._queries:
                    raise ValueError(f"query {name!r} defined twice ({path.name})")
                self._queries[name] = statement

    def __getattr__(self, name: str) -> str:
        try:
            return self._queries[name]
        except KeyError:
            raise AttributeError(f"no SQL statement named {name!r} in {QUERIES_DIR}") from None

    def names(self) -> list[str]:
        return sorted(self._queries)


Q = _Queries()
