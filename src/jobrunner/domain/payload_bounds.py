"""Bounds every JSON value a client sends before anything recursive or the database sees
it: nesting depth, size, and strings PostgreSQL cannot store (``jsonb`` and ``text``
refuse the NUL character). The walk is iterative, so no input can exhaust the stack."""

from __future__ import annotations

from typing import Any

import orjson

from jobrunner.domain.errors import InvalidInput

NUL = "\x00"
NUL_MESSAGE = "must not contain the NUL character (\\u0000)"


def _where(path: tuple[str, ...]) -> str:
    return ".".join(path)


def check_json(value: Any, *, loc: str, max_depth: int, max_bytes: int) -> None:
    """Raise ``InvalidInput`` (one field error) when ``value`` nests deeper than
    ``max_depth`` (an object or array is one level; its scalars sit inside it), is larger
    than ``max_bytes`` as compact JSON, or holds a NUL character in a key or a string."""
    stack: list[tuple[Any, tuple[str, ...], int]] = [(value, (loc,), 0)]
    while stack:
        item, path, depth = stack.pop()
        if isinstance(item, dict):
            if depth >= max_depth:
                _refuse(path, f"nested deeper than {max_depth} levels")
            for key, child in item.items():
                if NUL in key:
                    _refuse(path, f"keys {NUL_MESSAGE}")
                stack.append((child, path + (key[:64],), depth + 1))
        elif isinstance(item, list):
            if depth >= max_depth:
                _refuse(path, f"nested deeper than {max_depth} levels")
            stack.extend((child, path + (str(index),), depth + 1) for index, child in enumerate(item))
        elif isinstance(item, str) and NUL in item:
            _refuse(path, NUL_MESSAGE)
    # Depth is bounded now, so serializing cannot recurse too far.
    size = len(orjson.dumps(value))
    if size > max_bytes:
        _refuse((loc,), f"larger than {max_bytes} bytes as JSON ({size})")


def check_text(value: str | None, *, loc: str) -> None:
    """A string bound for a ``text`` column or parameter: no NUL character."""
    if value is not None and NUL in value:
        _refuse((loc,), NUL_MESSAGE)


def _refuse(path: tuple[str, ...], message: str) -> None:
    # Long paths (a deep payload) are cut: the location says where it starts going wrong.
    shown = path if len(path) <= 8 else path[:8] + ("…",)
    raise InvalidInput(
        "invalid payload" if shown[0] == "payload" else "invalid input", [{"loc": _where(shown), "message": message}]
    )
