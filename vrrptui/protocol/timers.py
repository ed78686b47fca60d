"""RFC 3768 section 6.1 and RFC 5798 section 6.1 timers.

Intervals are in seconds (floats). v3 intervals travel in centiseconds; keep the
arithmetic on centiseconds where the RFC does so results are exact to the ms.
"""

from __future__ import annotations

import functools


def skew_time(version: int, priority: int, master_adver_interval: float) -> float:
    """v2: (256 - priority) / 256 s, not scaled. v3: (256 - priority) * interval / 256."""
    if version == 2:
        return (256 - priority) / 256.0
    return (256 - priority) * master_adver_interval / 256.0


@functools.lru_cache(maxsize=1024)  # pure; a backup asks once per advert received
def master_down_interval(version: int, priority: int, master_adver_interval: float) -> float:
    """3 * Master_Adver_Interval + Skew_Time."""
    return 3 * master_adver_interval + skew_time(version, priority, master_adver_interval)


def v3_interval_centiseconds(seconds: float) -> int:
    """Seconds -> the 12-bit centisecond field (rounded, 1..4095)."""
    return max(1, min(4095, round(seconds * 100)))
