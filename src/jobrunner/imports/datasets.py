"""The importable datasets: their columns, and the check of one row.

A check takes the row's fields (in the file's column order) and returns either the
normalized values, as strings PostgreSQL casts (in the dataset's column order), or the
reason the row is rejected. Checks that need the database (an existing key, a quote's
customer) happen when the batch is written. Written for speed: a million rows go
through here per import."""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal

Check = Callable[[Sequence[str]], "tuple[str, ...] | str"]

EMAIL = re.compile(r"[A-Za-z0-9._%+'-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,63}")
MONEY = re.compile(r"[0-9]{1,12}(\.[0-9]{1,2})?")
ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
CURRENCY = re.compile(r"[A-Z]{3}")
# Characters PostgreSQL text cannot hold (NUL), undecodable bytes (surrogate escapes),
# and other control characters except tab.
FORBIDDEN = re.compile(r"[\x00-\x08\x0a-\x1f\x7f\ud800-\udfff]")
QUOTE_STATUSES = frozenset({"draft", "sent", "accepted", "rejected", "expired"})


@dataclass(frozen=True)
class Dataset:
    name: str
    columns: tuple[str, ...]
    """The CSV header's required columns (any order; no others)."""
    key: str
    """The column that identifies a record within an organization (duplicates, upserts)."""
    make_check: Callable[[dict[str, int]], Check]
    """Builds the row check from the header's column positions."""


def _text(value: str, what: str, limit: int) -> str | None:
    """None when fine, else the reason."""
    if not value:
        return f"{what} is required"
    if len(value) > limit:
        return f"{what} is longer than {limit} characters"
    if FORBIDDEN.search(value):
        return f"{what} contains control characters or bytes that are not UTF-8"
    return None


def _email(value: str, what: str) -> str | None:
    if not value:
        return f"{what} is required"
    if len(value) > 254 or not EMAIL.fullmatch(value):
        return f"{what} is not a valid email address"
    return None


def customers_check(at: dict[str, int]) -> Check:
    i_name, i_email, i_country = at["name"], at["email"], at["country"]
    width = len(at)

    def check(fields: Sequence[str]) -> tuple[str, ...] | str:
        if len(fields) != width:
            return f"expected {width} fields, found {len(fields)}"
        name = fields[i_name].strip()
        email = fields[i_email].strip().lower()
        country = fields[i_country].strip().upper()
        reason = _text(name, "name", 200) or _email(email, "email")
        if reason:
            return reason
        if len(country) != 2 or not country.isascii() or not country.isalpha():
            return "country must be a two-letter ISO 3166 code"
        return (name, email, country)

    return check


def _money(value: str, what: str) -> str | None:
    if not MONEY.fullmatch(value):
        return f"{what} must be a decimal amount with at most 2 decimals (e.g. 1250.00)"
    return None


def quotes_check(at: dict[str, int]) -> Check:
    i_number, i_customer, i_status = at["quote_number"], at["customer_email"], at["status"]
    i_currency, i_subtotal, i_tax, i_total, i_valid = (
        at["currency"],
        at["subtotal"],
        at["tax"],
        at["total"],
        at["valid_until"],
    )
    width = len(at)

    def check(fields: Sequence[str]) -> tuple[str, ...] | str:
        if len(fields) != width:
            return f"expected {width} fields, found {len(fields)}"
        number = fields[i_number].strip()
        customer = fields[i_customer].strip().lower()
        status = fields[i_status].strip().lower()
        currency = fields[i_currency].strip().upper()
        subtotal, tax, total = fields[i_subtotal].strip(), fields[i_tax].strip(), fields[i_total].strip()
        valid_until = fields[i_valid].strip()
        reason = (
            _text(number, "quote_number", 64)
            or _email(customer, "customer_email")
            or _money(subtotal, "subtotal")
            or _money(tax, "tax")
            or _money(total, "total")
        )
        if reason:
            return reason
        if status not in QUOTE_STATUSES:
            return f"status must be one of {', '.join(sorted(QUOTE_STATUSES))}"
        if not CURRENCY.fullmatch(currency):
            return "currency must be a three-letter ISO 4217 code (e.g. EUR)"
        if Decimal(total) != Decimal(subtotal) + Decimal(tax):
            return "total must equal subtotal + tax"
        if not ISO_DATE.fullmatch(valid_until):
            return "valid_until must be a date (YYYY-MM-DD)"
        try:
            dt.date.fromisoformat(valid_until)
        except ValueError:
            return "valid_until is not a valid date"
        return (number, customer, status, currency, subtotal, tax, total, valid_until)

    return check


DATASETS: dict[str, Dataset] = {
    "customers": Dataset("customers", ("name", "email", "country"), "email", customers_check),
    "quotes": Dataset(
        "quotes",
        ("quote_number", "customer_email", "status", "currency", "subtotal", "tax", "total", "valid_until"),
        "quote_number",
        quotes_check,
    ),
}


def header_problem(dataset: Dataset, header: Sequence[str]) -> str | None:
    """Why the header does not suit the dataset (None when it does). Linear in the
    header's length (the caller also bounds it: ``Limits.max_columns``)."""
    names = [name.strip().lower() for name in header]
    wanted, present = set(dataset.columns), set(names)
    missing = [c for c in dataset.columns if c not in present]
    unknown = [n for n in names if n not in wanted]
    repeated = sorted(name for name, count in Counter(names).items() if count > 1)
    problems = []
    if missing:
        problems.append(f"missing columns: {', '.join(missing)}")
    if unknown:
        problems.append(f"unknown columns: {', '.join(n[:40] for n in unknown[:10])}")
    if repeated:
        problems.append(f"repeated columns: {', '.join(repeated)}")
    return "; ".join(problems) or None


def positions(header: Sequence[str]) -> dict[str, int]:
    return {name.strip().lower(): index for index, name in enumerate(header)}
