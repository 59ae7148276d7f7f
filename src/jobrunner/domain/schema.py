"""Pieces of JSON Schema shared by the models the OpenAPI document is made of."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import WithJsonSchema

Timestamp = Annotated[str, WithJsonSchema({"type": "string", "format": "date-time"})]
"""A moment as the API writes it (``timestamps.iso_utc``): ISO 8601 UTC with milliseconds
and ``Z``, e.g. ``2024-01-30T10:30:45.000Z``. A string in Python, so that a model never
rewrites a stored value."""


def not_required(schema: dict[str, Any]) -> None:
    """``Field(json_schema_extra=not_required)`` on a field whose default is None: a key
    that may be absent but is never null (no ``default: null`` in the document)."""
    schema.pop("default", None)
