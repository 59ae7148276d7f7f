"""Range header parsing of the file routes (api/files.py: single ranges only, bounded)."""

import pytest

from jobrunner.api.files import MAX_RANGE_HEADER, parse_range
from jobrunner.domain.errors import RangeNotSatisfiable


@pytest.mark.parametrize(
    ("header", "size", "expected"),
    [
        (None, 100, None),
        ("bytes=0-9", 100, (0, 9)),
        ("BYTES=0-9", 100, (0, 9)),
        ("bytes=90-", 100, (90, 99)),
        ("bytes=-10", 100, (90, 99)),
        ("bytes=-500", 100, (0, 99)),
        ("bytes=50-1000", 100, (50, 99)),
        ("bytes=9-1", 100, None),
        ("bytes=0-1,4-5", 100, None),
        ("items=0-1", 100, None),
        ("bytes=-", 100, None),
        ("bytes=a-b", 100, None),
        ("bytes=0-" + "9" * 5000, 100, None),  # over-long: ignored, never parsed
        ("bytes=" + "1" * (MAX_RANGE_HEADER - 7) + "-", 100, RangeNotSatisfiable),
    ],
)
def test_parse_range(header, size, expected) -> None:
    if expected is RangeNotSatisfiable:
        with pytest.raises(RangeNotSatisfiable):
            parse_range(header, size)
    else:
        assert parse_range(header, size) == expected


@pytest.mark.parametrize(
    ("header", "size"), [("bytes=100-", 100), ("bytes=-0", 100), ("bytes=0-0", 0), ("bytes=-5", 0)]
)
def test_unsatisfiable_ranges_name_the_size(header, size) -> None:
    with pytest.raises(RangeNotSatisfiable) as raised:
        parse_range(header, size)
    assert raised.value.size == size
