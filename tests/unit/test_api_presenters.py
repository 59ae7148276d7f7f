"""Presenters, polling headers and the token cache, without a database."""

from __future__ import annotations

import datetime as dt
import time
import uuid

import pytest

from jobrunner.api.deps import TokenCache
from jobrunner.api.routes.jobs import etag_matches
from jobrunner.auth.tokens import issue_token
from jobrunner.domain.errors import AuthenticationError, NotFound
from jobrunner.jobs.presenters import retry_after, status_etag
from jobrunner.jobs.service import parse_job_id
from jobrunner.timestamps import iso_utc

SECRET = "unit-test-secret-of-a-decent-length-0123456789"


@pytest.mark.parametrize(
    "value, expected",
    [
        (None, None),
        (dt.datetime(2024, 1, 30, 10, 30, tzinfo=dt.UTC), "2024-01-30T10:30:00.000Z"),
        (dt.datetime(2024, 1, 30, 10, 30, 45, 999999, tzinfo=dt.UTC), "2024-01-30T10:30:45.999Z"),
        (dt.datetime(2024, 1, 30, 12, 0, tzinfo=dt.timezone(dt.timedelta(hours=2))), "2024-01-30T10:00:00.000Z"),
    ],
)
def test_iso_utc(value, expected):
    assert iso_utc(value) == expected


def _row(status="queued", age=0.0, **extra):
    now = dt.datetime.now(dt.UTC)
    return {
        "id": uuid.uuid4(),
        "status": status,
        "created_at": now - dt.timedelta(seconds=age),
        "updated_at": now,
        "progress": 0,
        "current_step": 0,
        "retry_count": 0,
        **extra,
    }


def test_retry_after_follows_the_document():
    assert retry_after(_row("queued", 0.5)) == 2
    assert retry_after(_row("queued", 5)) == 10
    assert retry_after(_row("running", 0.5)) == 5
    assert retry_after(_row("retrying", 60)) == 5
    assert all(retry_after(_row(s)) is None for s in ("succeeded", "failed", "cancelled"))


def test_etag_changes_with_state():
    row = _row()
    assert status_etag(row) == status_etag(dict(row))
    assert status_etag(row) != status_etag({**row, "progress": 20})
    assert status_etag(row) != status_etag({**row, "updated_at": row["updated_at"] + dt.timedelta(milliseconds=1)})


def test_etag_matching_is_weak_and_handles_lists():
    assert etag_matches('W/"a"', 'W/"a"')
    assert etag_matches('"a"', 'W/"a"')
    assert etag_matches('"x", W/"a"', 'W/"a"')
    assert etag_matches("*", 'W/"a"')
    assert not etag_matches(None, 'W/"a"')
    assert not etag_matches('W/"b"', 'W/"a"')


def test_token_cache_rechecks_expiry():
    cache = TokenCache(SECRET, 3600)
    token = issue_token(SECRET, "u", "o", ttl_seconds=1)
    assert cache.decode(token).user_id == "u"
    assert cache.decode(token).user_id == "u"
    time.sleep(1.1)
    with pytest.raises(AuthenticationError):
        cache.decode(token)


def test_token_cache_never_caches_failures():
    cache = TokenCache(SECRET, 3600)
    forged = issue_token("another-secret-of-a-decent-length-0123456789", "u", "o")
    for _ in range(2):
        with pytest.raises(AuthenticationError):
            cache.decode(forged)


@pytest.mark.parametrize("text", ["", "x", "1" * 65, "550e8400-e29b-41d4-a716-44665544000g"])
def test_non_uuid_ids_are_not_found(text):
    with pytest.raises(NotFound):
        parse_job_id(text)
