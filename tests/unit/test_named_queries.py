"""Every named statement of ``db/queries/*.sql`` is used by the service: a statement that
only a test or nothing reads is dead code (remove it, or the test that keeps it alive)."""

from __future__ import annotations

import re
from pathlib import Path

from jobrunner.db.sql import QUERIES_DIR, parse_all

SRC = Path(__file__).resolve().parents[2] / "src" / "jobrunner"


def test_every_named_query_is_used_in_src() -> None:
    names = {name for path in QUERIES_DIR.glob("*.sql") for name in parse_all(path.read_text())[0]}
    code = "\n".join(path.read_text() for path in SRC.rglob("*.py"))
    # ``Q.name``, or a report's ``statement="name"`` (reports/registry.py reads it by name).
    used = set(re.findall(r"\bQ\.(\w+)", code)) | set(re.findall(r"\bstatement=\"(\w+)\"", code))
    assert names, "no named queries found"
    assert sorted(names - used) == []
