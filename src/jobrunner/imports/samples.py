"""Deterministic sample CSV files of customers (tests and the import benchmark): row ``i``
is the same on every machine, and every ``bad_every``-th row is bad in one of several ways."""

from __future__ import annotations

import csv
from pathlib import Path

CUSTOMER_HEADER = ["name", "email", "country"]
COUNTRIES = ["DE", "FR", "US", "GB", "NL", "ES", "IT", "SE"]

# (fields, reason prefix): the kinds of bad rows, in turn.
BAD_KINDS = ("bad_email", "no_name", "bad_country", "short_row", "duplicate")


def customer_row(i: int) -> list[str]:
    return [f'Customer {i} "Ltd", <b>', f"customer{i}@example.com", COUNTRIES[i % len(COUNTRIES)]]


def bad_customer_row(i: int, kind: str) -> list[str]:
    name, email, country = customer_row(i)
    if kind == "bad_email":
        return [name, f"customer{i}.example.com", country]
    if kind == "no_name":
        return ["  ", email, country]
    if kind == "bad_country":
        return [name, email, "Germany"]
    if kind == "short_row":
        return [name, email]
    return [name, "customer0@example.com", country]  # the email of row 0: a duplicate


def write_customers(path: Path, rows: int, bad_every: int = 0) -> dict[int, str]:
    """Writes the file; returns {line number: kind} of the bad rows (the header is line 1)."""
    bad: dict[int, str] = {}
    with open(path, "w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(CUSTOMER_HEADER)
        for i in range(rows):
            if bad_every and i % bad_every == bad_every - 1:
                kind = BAD_KINDS[(i // bad_every) % len(BAD_KINDS)]
                bad[i + 2] = kind
                writer.writerow(bad_customer_row(i, kind))
            else:
                writer.writerow(customer_row(i))
    return bad
