"""RFC 3768 6.1 / RFC 5798 6.1 timers, table-tested against the figures in VRRP-FACTS.md."""

from __future__ import annotations

import pytest

from vrrptui.protocol.timers import master_down_interval, skew_time, v3_interval_centiseconds


@pytest.mark.parametrize(
    ("version", "priority", "interval", "skew", "master_down"),
    [
        (2, 100, 1.0, 0.609, 3.609),  # the classic keepalived default
        (2, 110, 1.0, 0.570, 3.570),
        (3, 100, 0.1, 0.061, 0.361),
        (3, 100, 1.0, 0.609, 3.609),
        (2, 255, 1.0, 0.004, 3.004),  # owner: smallest skew
        (2, 1, 1.0, 0.996, 3.996),  # lowest backup: largest skew
        (3, 255, 0.1, 0.000, 0.300),  # 1/256 of 0.1 s rounds to 0 ms
        (3, 1, 0.1, 0.100, 0.400),
        (2, 100, 3.0, 0.609, 9.609),  # v2 skew is not scaled by the interval
        (3, 100, 3.0, 1.828, 10.828),  # v3 skew is
    ],
)
def test_master_down_interval_table(
    version: int, priority: int, interval: float, skew: float, master_down: float
) -> None:
    assert round(skew_time(version, priority, interval), 3) == skew
    assert round(master_down_interval(version, priority, interval), 3) == master_down


def test_skew_time_exact_fractions() -> None:
    assert skew_time(2, 100, 1.0) == 156 / 256
    assert skew_time(2, 255, 5.0) == 1 / 256
    assert skew_time(3, 1, 0.1) == pytest.approx(255 * 0.1 / 256)


def test_higher_priority_backup_times_out_first() -> None:
    for version, interval in ((2, 1.0), (3, 0.1)):
        downs = [master_down_interval(version, p, interval) for p in range(1, 256)]
        assert downs == sorted(downs, reverse=True)
        assert len(set(downs)) == 255


@pytest.mark.parametrize(
    ("seconds", "centiseconds"), [(0.1, 10), (1.0, 100), (0.05, 5), (40.95, 4095), (41, 4095), (0.001, 1)]
)
def test_v3_interval_centiseconds(seconds: float, centiseconds: int) -> None:
    assert v3_interval_centiseconds(seconds) == centiseconds
