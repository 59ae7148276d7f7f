"""Signed download links: round trip, expiry, and every field bound by the signature."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from urllib.parse import parse_qs, urlsplit

import pytest

from jobrunner.exports.links import sign, signed_download_url, verify
from jobrunner.exports.presenter import present_export_result

SECRET = "s" * 48
FIELDS = {"key": "f81d4fae-7dec-11d0-a765-00a0c91e6bf6.csv", "user_id": "user_admin", "organization_id": "org_acme"}


def test_round_trip() -> None:
    expires = int(time.time()) + 60
    signature = sign(SECRET, expires=expires, **FIELDS)
    assert verify(SECRET, signature, expires=expires, **FIELDS)


@pytest.mark.parametrize(
    "change",
    [{"key": "other.csv"}, {"user_id": "user_member"}, {"organization_id": "org_globex"}],
)
def test_each_field_is_bound(change) -> None:
    expires = int(time.time()) + 60
    signature = sign(SECRET, expires=expires, **FIELDS)
    assert not verify(SECRET, signature, expires=expires, **{**FIELDS, **change})


def test_expiry_is_bound_and_enforced() -> None:
    now = time.time()
    expires = int(now) + 60
    signature = sign(SECRET, expires=expires, **FIELDS)
    assert not verify(SECRET, signature, expires=expires + 1, **FIELDS)
    assert not verify(SECRET, signature, expires=expires, now=expires, **FIELDS)
    assert verify(SECRET, signature, expires=expires, now=expires - 1, **FIELDS)


@pytest.mark.parametrize("signature", [None, "", "x" * 200, "AAAA"])
def test_garbage_signatures(signature) -> None:
    assert not verify(SECRET, signature, expires=int(time.time()) + 60, **FIELDS)


def test_another_secret_does_not_verify() -> None:
    expires = int(time.time()) + 60
    assert not verify("t" * 48, sign(SECRET, expires=expires, **FIELDS), expires=expires, **FIELDS)


def test_the_link_key_is_not_the_jwt_secret() -> None:
    """Links are signed with a key derived from the JWT secret for their purpose, never with
    the secret itself: both compared in the encoding links use (base64url, unpadded)."""
    expires = 2_000_000_000
    message = json.dumps([FIELDS["key"], "user_admin", "org_acme", expires]).encode()

    def b64url(digest: bytes) -> str:
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()

    signature = sign(SECRET, expires=expires, **FIELDS)
    assert signature != b64url(hmac.new(SECRET.encode(), message, hashlib.sha256).digest())
    derived = hmac.new(SECRET.encode(), b"jobrunner/export-download-link/v1", hashlib.sha256).digest()
    assert signature == b64url(hmac.new(derived, message, hashlib.sha256).digest())


def test_url_shape_and_presenter() -> None:
    job_id = uuid.uuid4()
    url, expires = signed_download_url(
        SECRET, job_id=job_id, key=f"{job_id}.csv", user_id="u", organization_id="o", ttl_seconds=900, now=1_000
    )
    parts = urlsplit(url)
    assert parts.path == f"/v1/exports/{job_id}/download" and expires == 1_900
    query = parse_qs(parts.query)
    assert query["expires"] == ["1900"] and verify(
        SECRET, query["sig"][0], key=f"{job_id}.csv", user_id="u", organization_id="o", expires=1900, now=1_000
    )
    result = {"downloadUrl": f"/v1/exports/{job_id}/download", "format": "csv", "fileSize": 1}

    class Row:
        id, user_id, organization_id = job_id, "u", "o"

    shown = present_export_result(result, Row(), secret=SECRET, ttl_seconds=900, now=1_000)
    assert shown["downloadUrl"] == url and result["downloadUrl"].endswith("/download")
    assert present_export_result({"other": 1}, Row(), secret=SECRET, ttl_seconds=900) == {"other": 1}
    foreign = {**result, "downloadUrl": "/api/v1/exports/quotes_2024-01-30.csv"}
    assert present_export_result(foreign, Row(), secret=SECRET, ttl_seconds=900) == foreign
