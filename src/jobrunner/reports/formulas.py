"""CSV injection: the one rule for text cells of every CSV file jobrunner hands out
(exports, an import's rejected rows). A value starting with a character that makes a
spreadsheet read the cell as a formula gets a leading apostrophe, which spreadsheets show
as text (OWASP "CSV injection"). CSV exports apply it in PostgreSQL (``neutralised_sql``,
the file is formatted by COPY); files written in Python apply ``neutralise``."""

from __future__ import annotations

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
_PREFIXES = frozenset(FORMULA_PREFIXES)
_PREFIXES_SQL = ", ".join("E'\\t'" if c == "\t" else "E'\\r'" if c == "\r" else f"'{c}'" for c in FORMULA_PREFIXES)


def neutralise(value: str) -> str:
    """The cell's text as a spreadsheet must show it (never as a formula)."""
    return "'" + value if value[:1] in _PREFIXES else value


def neutralised_sql(expression: str) -> str:
    """The same rule as a SQL expression over a text ``expression``."""
    return f"CASE WHEN left({expression}, 1) IN ({_PREFIXES_SQL}) THEN '''' || {expression} ELSE {expression} END"
