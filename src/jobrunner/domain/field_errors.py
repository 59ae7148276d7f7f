"""Validation errors in our words: one ``{"loc", "message"}`` per invalid field.

Pydantic's ``msg`` is mostly a template filled from the schema ("Input should be 'csv',
'json' or 'xlsx'"), but some messages carry the caller's input back: a parser's detail
("invalid character: … found `x` at 1"), a discriminator tag, or the text of a library's
``ValueError`` ("Invalid isoformat string: '2024-13-01'"). Those parts are dropped, and
a message that still repeats the input is replaced by a generic one. ``ctx`` and
``input`` are never sent; ``loc`` parts are bounded (an unknown key is the caller's own
text, and may be long).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

MAX_MESSAGE_CHARS = 200
MAX_LOC_PART_CHARS = 64
GENERIC = "invalid value"

# Message types whose text is arbitrary (a validator's exception), not a schema template.
_FREE_TEXT_TYPES = frozenset({"value_error", "assertion_error"})


def _loc(parts: Iterable[Any], prefix: str) -> str:
    names = [prefix] if prefix else []
    for part in parts:
        text = str(part)
        names.append(text if len(text) <= MAX_LOC_PART_CHARS else text[: MAX_LOC_PART_CHARS - 1] + "…")
    return ".".join(names)


def _echoes(message: str, value: Any) -> bool:
    """Does ``message`` repeat the caller's input (or a Python repr of a container)?"""
    if isinstance(value, bool) or value is None:
        return False
    if isinstance(value, (str, int, float)):
        text = str(value)
        return (len(text) >= 3 and text in message) or repr(value) in message
    return "{'" in message or "['" in message or " object at 0x" in message


def safe_message(error: Mapping[str, Any]) -> str:
    """The message of one pydantic error, without what the caller sent."""
    kind = str(error.get("type", ""))
    message = str(error.get("msg") or GENERIC)
    ctx = error.get("ctx") or {}
    if kind == "union_tag_invalid":
        message = f"does not match any of the expected tags: {ctx.get('expected_tags', '')}".rstrip(": ")
    elif "error" in ctx and kind not in _FREE_TEXT_TYPES:
        # "Input should be a valid UUID, <what the parser found in the input>"
        message = message.replace(str(ctx["error"]), "").rstrip(" ,:") or GENERIC
    if len(message) > MAX_MESSAGE_CHARS or not message.isprintable() or _echoes(message, error.get("input")):
        return GENERIC
    return message


def field_errors(
    errors: Iterable[Mapping[str, Any]], prefix: str = "", *, strip_location: bool = False
) -> list[dict[str, str]]:
    """``[{"loc": "payload.filters.dateFrom", "message": ...}]`` for pydantic's errors.
    ``strip_location`` drops FastAPI's leading ``body``/``query``/``path``/``header``."""
    result = []
    for error in errors:
        parts = list(error.get("loc", ()))
        if strip_location and parts and parts[0] in ("body", "query", "path", "header"):
            parts = parts[1:] or parts
        result.append({"loc": _loc(parts, prefix) or "body", "message": safe_message(error)})
    return result
