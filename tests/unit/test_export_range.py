"""Range header parsing of the download route (single ranges only)."""

import pytest

from jobrunner.api.routes.downloads import parse_range


@pytest.mark.parametrize(
    ("header", "size", "expected"),
    [
        (None, 100, None),
        ("bytes=0-9", 100, (0, 9)),
        ("bytes=90-", 100, (90, 99)),
        ("bytes=-10", 100, (90, 99)),
        ("bytes=-500", 100, (0, 99)),
        ("bytes=50-1000", 100, (50, 99)),
        ("bytes=100-", 100, False),
        ("bytes=-0", 100, False),
        ("bytes=0-0", 0, False),
        ("bytes=9-1", 100, None),
        ("bytes=0-1,4-5", 100, None),
        ("items=0-1", 100, None),
        ("bytes=-", 100, None),
        ("bytes=a-b", 100, None),
    ],
)
def test_parse_range(header, size, expected) -> None:
    assert parse_range(header, size) == expected
