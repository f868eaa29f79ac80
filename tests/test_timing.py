"""Step clocks and their sums."""

from __future__ import annotations

from exolrs.timing import Clock, sum_seconds


def test_clock_sums_laps_of_one_name():
    clock = Clock()
    clock.lap("a")
    clock.lap("b")
    clock.lap("a")
    assert set(clock.seconds) == {"a", "b"} and all(v >= 0 for v in clock.seconds.values())
    assert clock.rounded(0) == {k: round(v) for k, v in clock.seconds.items()}


def test_sum_seconds_over_clocks():
    total = sum_seconds([{"read": 1.0, "fit": 2.0}, {"fit": 0.5}, {}])
    assert total == {"read": 1.0, "fit": 2.5}
    assert sum_seconds([]) == {}
