"""How jobrunner writes a moment: ISO 8601 in UTC with milliseconds and ``Z``
(``2024-01-30T08:15:00.123Z``), the one format of the API's JSON, job results and export
files' metadata. Standard library only."""

from __future__ import annotations

import datetime as dt
from typing import overload


@overload
def iso_utc(value: dt.datetime) -> str: ...
@overload
def iso_utc(value: None) -> None: ...
@overload
def iso_utc(value: dt.datetime | None) -> str | None: ...
def iso_utc(value: dt.datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is not dt.UTC:
        value = value.astimezone(dt.UTC)
    # isoformat is C code: the cheapest way on the polling path.
    return value.isoformat(timespec="milliseconds").replace("+00:00", "Z")
