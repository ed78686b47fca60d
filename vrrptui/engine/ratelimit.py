"""Bounded rate limits for what hostile traffic can trigger: log lines and replies (sans-I/O).

Both take `now` like the rest of the engine. Neither keeps state per packet source: a
flood from random addresses costs a dictionary lookup on a key from a fixed, small set
(a drop reason, a kind of log line), never a new entry.
"""

from __future__ import annotations

from collections.abc import Hashable


class LogLimiter:
    """At most one line per key every `interval` seconds, counting the lines held back.

    Keys must come from a finite set (drop reasons, line kinds): memory is bounded by it.
    """

    __slots__ = ("interval", "_next", "_held")

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self._next: dict[Hashable, float] = {}
        self._held: dict[Hashable, int] = {}

    def allow(self, key: Hashable, now: float) -> int | None:
        """None: hold this line back. Else log it; the value is how many were held back before it."""
        if now < self._next.get(key, float("-inf")):
            self._held[key] = self._held.get(key, 0) + 1
            return None
        self._next[key] = now + self.interval
        return self._held.pop(key, 0)

    def text(self, key: Hashable, now: float, line: str) -> str | None:
        """`line` if it may be logged now (saying how many similar lines were held back), else None."""
        held = self.allow(key, now)
        if held is None:
            return None
        if held:
            return f"{line} ({held} similar line{'s' if held != 1 else ''} suppressed)"
        return line


class TokenBucket:
    """`burst` tokens, refilled at `rate` per second; take() spends one if there is one."""

    __slots__ = ("rate", "burst", "_tokens", "_at")

    def __init__(self, rate: float, burst: float) -> None:
        self.rate = rate
        self.burst = burst
        self._tokens = burst
        self._at: float | None = None

    def take(self, now: float) -> bool:
        if self._at is not None and now > self._at:
            self._tokens = min(self.burst, self._tokens + (now - self._at) * self.rate)
        if self._at is None or now > self._at:
            self._at = now
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return True
        return False
