"""The base of every payload model: strict (unknown fields refused) and free of monetary
values (money lives in typed columns, never in JSONB). ``domain/jobtypes.py``'s
``strict_payload`` adds these rules to a job type's model that does not derive from it."""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, model_validator

_MONETARY_KEY = re.compile(r"(amount|price|cost|total|subtotal|tax|balance|money|salary|fee|payment|revenue)", re.I)


def _find_monetary_key(value: Any, path: str = "") -> str | None:
    if isinstance(value, dict):
        for key, item in value.items():
            where = f"{path}.{key}" if path else str(key)
            if _MONETARY_KEY.search(str(key)):
                return where
            found = _find_monetary_key(item, where)
            if found:
                return found
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found = _find_monetary_key(item, f"{path}[{index}]")
            if found:
                return found
    return None


def _iso_date(value: Any) -> Any:
    """Dates arrive as ISO strings (YYYY-MM-DD) only: no numbers, no other formats."""
    if isinstance(value, dt.date):
        return value
    if not isinstance(value, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        raise ValueError("must be an ISO 8601 date string (YYYY-MM-DD)")
    return value


IsoDate = Annotated[dt.date, BeforeValidator(_iso_date)]


class PayloadModel(BaseModel):
    """Base of every payload: unknown fields are refused, and so are monetary values
    (money lives in typed columns, never in JSONB)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=False)

    @model_validator(mode="before")
    @classmethod
    def _no_monetary_values(cls, data: Any) -> Any:
        where = _find_monetary_key(data)
        if where:
            raise ValueError(f"monetary values are not allowed in job payloads (found '{where}')")
        return data
