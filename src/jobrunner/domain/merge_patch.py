"""JSON Merge Patch (RFC 7396): how a job started from a template overrides the
template's payload. Objects merge key by key, recursively; ``null`` removes a key; any
other value (a list, a string, a number) replaces the template's."""

from __future__ import annotations

from typing import Any


def merge_patch(target: Any, patch: Any) -> Any:
    if not isinstance(patch, dict):
        return patch
    merged = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = merge_patch(merged.get(key), value)
    return merged
