"""Pure parts of the four job types: row checks, header checks, duplicate handling,
webhook signatures, rejected-rows links, template rendering."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from jobrunner.domain.errors import PermanentError
from jobrunner.imports.datasets import DATASETS, header_problem, positions
from jobrunner.imports.parse import Limits, Parsed, RejectedRows, TooLarge, parse_batches, read_header
from jobrunner.imports.write import collapse_duplicates
from jobrunner.integrations import signing
from jobrunner.notifications.templates import render
from jobrunner.uploads import links
from jobrunner.storage.base import check_key

CUSTOMERS = DATASETS["customers"]
QUOTES = DATASETS["quotes"]


def customer(*fields: str) -> object:
    return CUSTOMERS.make_check(positions(["email", "name", "country"]))(list(fields))


def test_customer_rows() -> None:
    assert customer(" Ann@Example.COM ", " Ann ", "de") == ("Ann", "ann@example.com", "DE")
    assert customer("ann@example.com", "", "DE") == "name is required"
    assert customer("ann@example", "Ann", "DE") == "email is not a valid email address"
    assert customer("ann@example.com", "A\x00nn", "DE").startswith("name contains control characters")
    assert customer("ann@example.com", "A\udcffnn", "DE").startswith("name contains control characters")
    assert customer("ann@example.com", "Ann", "Deutschland") == "country must be a two-letter ISO 3166 code"
    assert customer("ann@example.com", "Ann", "D1") == "country must be a two-letter ISO 3166 code"
    assert customer("ann@example.com", "Ann") == "expected 3 fields, found 2"


def quote(**overrides: str) -> object:
    row = {
        "quote_number": "Q-1",
        "customer_email": "a@example.com",
        "status": "sent",
        "currency": "eur",
        "subtotal": "100.00",
        "tax": "19.00",
        "total": "119.00",
        "valid_until": "2025-02-28",
    }
    row.update(overrides)
    return QUOTES.make_check(positions(list(row)))(list(row.values()))


def test_quote_rows_money_and_dates() -> None:
    assert quote() == ("Q-1", "a@example.com", "sent", "EUR", "100.00", "19.00", "119.00", "2025-02-28")
    assert quote(subtotal="0.1", tax="0.2", total="0.3")[4:7] == ("0.1", "0.2", "0.3")  # exact, not float
    for bad in ("1e3", "-1", "1,00", "10.001", "١٢", "NaN", "", "1234567890123"):
        assert "decimal amount" in quote(subtotal=bad, total=bad, tax="0"), bad
    assert quote(total="119.01") == "total must equal subtotal + tax"
    assert quote(currency="EURO").startswith("currency must be")
    assert quote(status="won").startswith("status must be one of")
    assert quote(valid_until="2025-02-30") == "valid_until is not a valid date"
    assert quote(valid_until="28.02.2025") == "valid_until must be a date (YYYY-MM-DD)"


def test_header_problems() -> None:
    assert header_problem(CUSTOMERS, ["Email", " name", "COUNTRY"]) is None
    assert header_problem(CUSTOMERS, ["name", "email"]) == "missing columns: country"
    assert header_problem(CUSTOMERS, ["name", "email", "country", "vip"]) == "unknown columns: vip"
    assert header_problem(CUSTOMERS, ["name", "email", "country", "email"]) == "repeated columns: email"


def _parse(tmp_path: Path, text: str, limits: Limits) -> Parsed:
    source = tmp_path / "in.csv"
    source.write_text(text, newline="")
    parsed = Parsed()
    rejected = RejectedRows(tmp_path / "rejected.csv", ["name", "email", "country"])
    with open(tmp_path / "spool", "wb") as spool:
        for _ in parse_batches(
            source, CUSTOMERS.make_check(positions(["name", "email", "country"])), 2, spool, rejected, parsed, limits
        ):
            pass
    rejected.close()
    return parsed


def test_import_limits(tmp_path: Path) -> None:
    limits = Limits(max_columns=3, max_line_chars=20)
    header = "name,email,country\r\n"
    exactly = "Ann,a@example.com,DE\r\n"  # 20 characters and a CR LF
    assert _parse(tmp_path, header + exactly, limits).good == 1
    with pytest.raises(TooLarge, match="^line 2 is longer than 20 characters$"):
        _parse(tmp_path, header + "A" + exactly, limits)
    with pytest.raises(TooLarge, match="^the record at line 2 is longer than 20 characters$"):
        _parse(tmp_path, header + '"A\nB\nC\nD\nE\nF",a@example.com,DE\n', limits)
    with pytest.raises(TooLarge, match="^line 3 has more than 3 fields$"):
        _parse(tmp_path, header + "A,a@example.com,DE\n,,,\n", limits)
    (tmp_path / "h.csv").write_text("a,b,c,d\n")
    with pytest.raises(TooLarge, match="^the header has more than 3 columns$"):
        read_header(tmp_path / "h.csv", limits)
    (tmp_path / "h.csv").write_text("x" * 30)  # no line break at all
    with pytest.raises(TooLarge, match="^line 1 is longer than 20 characters$"):
        read_header(tmp_path / "h.csv", limits)
    (tmp_path / "h.csv").write_text("")
    assert read_header(tmp_path / "h.csv", limits) is None


def test_rejected_rows_are_neutralised_like_csv_exports(tmp_path: Path) -> None:
    rejected = RejectedRows(tmp_path / "r.csv", ["name"])
    rejected.add(2, "bad", ["=1+1", "+1", "-1", "@A1", "\tx", "\rx", "plain", "", "a=b"])
    rejected.close()
    row = (tmp_path / "r.csv").read_bytes().decode().split("\r\n")[1]
    assert row == "2,bad,'=1+1,'+1,'-1,'@A1,'\tx,\"'\rx\",plain,,a=b"


def test_duplicates_within_a_batch(tmp_path: Path) -> None:
    rows = [(2, ("A", "a@x.io", "DE"), ["A"]), (3, ("B", "b@x.io", "DE"), ["B"]), (4, ("A2", "a@x.io", "FR"), ["A2"])]
    rejected = RejectedRows(tmp_path / "r.csv", ["name"])
    kept, superseded = collapse_duplicates(list(rows), 1, "insert", rejected, "customers")
    assert [r[0] for r in kept] == [2, 3] and superseded == 0 and rejected.count == 1
    kept, superseded = collapse_duplicates(list(rows), 1, "upsert", rejected, "customers")
    assert [r[0] for r in kept] == [3, 4] and superseded == 1 and rejected.count == 1
    rejected.close()
    assert (tmp_path / "r.csv").read_text().splitlines()[
        1
    ] == "4,a customer with this email already exists (line 2 of this file),A2"


def test_webhook_signature() -> None:
    body = b'{"a":1}'
    header = signing.signature_header("s" * 20, body, timestamp=1_700_000_000)
    assert signing.verify("s" * 20, header, body, now=1_700_000_100)
    assert not signing.verify("s" * 20, header, body + b" ", now=1_700_000_100)
    assert not signing.verify("t" * 20, header, body, now=1_700_000_100)
    assert not signing.verify("s" * 20, header, body, now=1_700_001_000)  # too old: a replay
    assert not signing.verify("s" * 20, "garbage", body)


def test_rejected_rows_links() -> None:
    url = links.signed_url("secret", job_id="j1", user_id="u1", organization_id="o1", ttl_seconds=60)
    query = dict(part.split("=") for part in url.split("?")[1].split("&"))
    good = {"job_id": "j1", "user_id": "u1", "organization_id": "o1", "expires": int(query["expires"])}
    assert links.verify("secret", query["sig"], **good)
    assert not links.verify("secret", query["sig"], **{**good, "user_id": "u2"})
    assert not links.verify("secret", query["sig"], **{**good, "expires": good["expires"] + 1})
    assert not links.verify("other", query["sig"], **good)
    assert not links.verify("secret", query["sig"], **good, now=time.time() + 61)


def test_templates() -> None:
    rendered = render(
        "job_finished",
        {"jobType": "export_report", "jobId": "<j>", "status": "succeeded"},
        {"name": "Ann & Bob", "email": "a@example.com"},
    )
    assert rendered.subject == "Your export_report job succeeded"
    assert "Hello Ann & Bob" in rendered.text and "Hello Ann &amp; Bob" in rendered.html
    assert "<code>&lt;j&gt;</code>" in rendered.html
    with pytest.raises(PermanentError, match="unknown template"):
        render("../etc/passwd", {})


def test_store_refuses_escaping_keys() -> None:
    for key in ("../x", "/etc/passwd", "a/../../b", ""):
        with pytest.raises(ValueError):
            check_key(key)
