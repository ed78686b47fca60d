"""Plain text for the panes (no textual here, so it is trivially testable)."""

from __future__ import annotations


def duration(seconds: float) -> str:
    """12.3s, 4m05s, 2h03m, 3d04h."""
    seconds = max(0.0, seconds)
    if seconds < 60:
        return f"{seconds:.1f}s"
    s = int(seconds)
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    if s < 86400:
        return f"{s // 3600}h{s % 3600 // 60:02d}m"
    return f"{s // 86400}d{s % 86400 // 3600:02d}h"


def interval(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if abs(seconds - round(seconds)) < 1e-9:
        return f"{round(seconds)}s"
    return f"{seconds * 1000:.0f}ms"


def millis(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f} ms"


def size(num_bytes: int) -> str:
    mb = num_bytes / (1024 * 1024)
    return f"{mb:.1f} MB"
