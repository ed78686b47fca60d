"""Plays a capture's records to the console at their recorded times: play / pause, speed, jumps.

A console Backend (engine = False, like sniff): `run()` (the app's thread worker) hands the
records whose time has come to the observer; `now()` is the replay's clock, the recorded
time being shown, which the app uses as its own clock so every pane reads "as of then".
"""

from __future__ import annotations

import bisect
import concurrent.futures
import threading
import time
from collections.abc import Callable, Sequence

from vrrptui.engine.commands import Command, CommandError
from vrrptui.records import Heard
from vrrptui.records import Claim

LEAD = 2.0  # a jump lands this many (recorded) seconds before the failover, to watch it happen
SPEEDS = (0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 50.0)


class ReplayPlayer:
    engine = False

    def __init__(self, records: Sequence[Heard | Claim], failovers: Sequence[float], speed: float = 1.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.records = sorted(records, key=lambda r: r.at)
        self.times = [r.at for r in self.records]
        self.failovers = sorted(failovers)
        self.speed = speed
        self.playing = True
        self.start = self.times[0] if self.times else 0.0
        self.end = self.times[-1] if self.times else 0.0
        self.error: BaseException | None = None
        self._clock = clock
        self._lock = threading.Lock()
        self._at = self.start  # the recorded time at real time _since
        self._since = clock()
        self._next = 0  # index of the first record not handed over yet
        self._jumped = float("-inf")  # the failover the last jump went to
        self._stop = threading.Event()
        self._wake = threading.Event()

    def now(self) -> float:
        with self._lock:
            return self._now()

    def _now(self) -> float:
        if not self.playing:
            return self._at
        return min(self.end, self._at + (self._clock() - self._since) * self.speed)

    def _rebase(self, at: float) -> None:
        self._at, self._since = at, self._clock()
        self._wake.set()

    def toggle(self) -> bool:
        """Play / pause; True when playing now."""
        with self._lock:
            at = self._now()
            self.playing = not self.playing and at < self.end
            self._rebase(at)
            return self.playing

    def set_speed(self, step: int) -> float:
        """One step faster (+1) or slower (-1) through SPEEDS."""
        with self._lock:
            at = self._now()
            i = bisect.bisect_left(SPEEDS, self.speed)
            self.speed = SPEEDS[max(0, min(len(SPEEDS) - 1, i + step))]
            self._rebase(at)
            return self.speed

    def next_failover(self) -> float | None:
        """Play from LEAD seconds before the next failover (not the one jumped to last); its time, or None."""
        with self._lock:
            now = self._now()
            upcoming = [t for t in self.failovers if t > now and t > self._jumped]
            if not upcoming:
                return None
            self._jumped = upcoming[0]
            self.playing = True
            self._rebase(max(now, upcoming[0] - LEAD))
            return upcoming[0]

    # --- Backend ----------------------------------------------------------------------

    def run(self, observer: Callable[[tuple[object, ...]], None]) -> int:
        with self._lock:
            self._rebase(self._at)  # the recording starts to play when the console is up, not before
        while not self._stop.is_set():
            with self._lock:
                now = self._now()
                upto = bisect.bisect_right(self.times, now)
                batch = tuple(self.records[self._next:upto])
                self._next = max(self._next, upto)
                if self.playing and now >= self.end:
                    self.playing = False
                    self._rebase(self.end)
                wait = 0.25 if not self.playing or self._next >= len(self.records) else \
                    min(0.05, (self.times[self._next] - now) / self.speed)
            if batch:
                observer(batch)
            self._wake.wait(max(wait, 0.001))
            self._wake.clear()
        return 0

    def command(self, cmd: Command) -> concurrent.futures.Future[None]:
        future: concurrent.futures.Future[None] = concurrent.futures.Future()
        future.set_exception(CommandError("a replay runs no engine: there is nothing to command"))
        return future

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
