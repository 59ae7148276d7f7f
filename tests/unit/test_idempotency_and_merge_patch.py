"""The pure pieces of issue 13's idempotent creation and templates: the key's format, the
body's canonical hash, JSON Merge Patch (RFC 7396, with its appendix's examples)."""

from __future__ import annotations

import pytest

from jobrunner.domain.errors import InvalidInput
from jobrunner.domain.idempotency import check_key, request_hash
from jobrunner.domain.merge_patch import merge_patch


@pytest.mark.parametrize("key", ["a", "order-1234/attempt 2", "~" * 255, " padded "])
def test_printable_ascii_keys_up_to_255(key):
    assert check_key(key) == key.strip()


@pytest.mark.parametrize("key", ["", "  ", "x" * 256, "café", "tab\there", "nul\x00"])
def test_other_keys_are_refused(key):
    with pytest.raises(InvalidInput) as caught:
        check_key(key)
    assert caught.value.errors[0]["loc"] == "Idempotency-Key"


def test_the_hash_ignores_key_order_only():
    a = {"jobType": "x", "payload": {"a": 1, "b": [1, 2]}}
    b = {"payload": {"b": [1, 2], "a": 1}, "jobType": "x"}
    assert request_hash(a) == request_hash(b)
    assert request_hash(a) != request_hash({**a, "priority": 0})
    assert request_hash(a) != request_hash({"jobType": "x", "payload": {"a": 1, "b": [2, 1]}})


@pytest.mark.parametrize(
    ("target", "patch", "result"),
    [
        ({"a": "b"}, {"a": "c"}, {"a": "c"}),
        ({"a": "b"}, {"b": "c"}, {"a": "b", "b": "c"}),
        ({"a": "b"}, {"a": None}, {}),
        ({"a": "b", "b": "c"}, {"a": None}, {"b": "c"}),
        ({"a": ["b"]}, {"a": "c"}, {"a": "c"}),
        ({"a": "c"}, {"a": ["b"]}, {"a": ["b"]}),
        ({"a": {"b": "c"}}, {"a": {"b": "d", "c": None}}, {"a": {"b": "d"}}),
        ({"a": [{"b": "c"}]}, {"a": [1]}, {"a": [1]}),
        (["a", "b"], ["c", "d"], ["c", "d"]),
        ({"a": "b"}, ["c"], ["c"]),
        ({"e": None}, {"a": 1}, {"e": None, "a": 1}),
        ([1, 2], {"a": "b", "c": None}, {"a": "b"}),
        ({}, {"a": {"bb": {"ccc": None}}}, {"a": {"bb": {}}}),
    ],
)
def test_merge_patch_follows_rfc_7396(target, patch, result):
    assert merge_patch(target, patch) == result


def test_merge_patch_leaves_its_inputs_alone():
    target = {"filters": {"dateFrom": "2024-01-01", "dateTo": "2024-12-31"}}
    merge_patch(target, {"filters": {"dateFrom": None}})
    assert target == {"filters": {"dateFrom": "2024-01-01", "dateTo": "2024-12-31"}}
