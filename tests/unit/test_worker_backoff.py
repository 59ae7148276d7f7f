"""Backoff delays with the random source under test control."""

from __future__ import annotations

import pytest

from jobrunner.backoff import backoff_seconds


@pytest.mark.parametrize(
    ("retry_count", "rand", "expected"),
    [
        (0, 0.0, 1.0),  # base 2: d = 2, the lowest pick is d/2
        (0, 0.5, 1.5),
        (1, 0.0, 2.0),  # d = 4
        (3, 0.999, 8.0 + 0.999 * 8.0),  # d = 16
        (10, 0.0, 50.0),  # capped at 100
        (100, 1.0, 100.0),  # huge counts do not overflow
    ],
)
def test_equal_jitter_exponential(retry_count: int, rand: float, expected: float) -> None:
    assert backoff_seconds(retry_count, base=2.0, cap=100.0, rand=lambda: rand) == pytest.approx(expected)


def test_delays_grow_and_stay_within_bounds() -> None:
    picks = iter([0.3] * 20)
    delays = [backoff_seconds(n, base=1.0, cap=30.0, rand=lambda: next(picks)) for n in range(8)]
    assert delays == sorted(delays)
    for n, delay in enumerate(delays):
        d = min(30.0, 2.0**n)
        assert d / 2 <= delay < d
