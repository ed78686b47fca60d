"""The runtime's observer (the console's worker, the metrics): records in batches, the status within 100 ms
of each change (looked at every 100 ms; an unchanged one is not sent again).

Records collected during one loop iteration go out together on the next; the observer
runs on the loop and must not block. A failing observer is logged, never fatal.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from vrrptui.engine.engine import Engine
from vrrptui.engine.outputs import LogFn, LogLine
from vrrptui.records import Observation, StatusSnapshot

Observer = Callable[[tuple[Observation, ...]], None]

SNAPSHOT_PERIOD = 0.1  # seconds between StatusSnapshots


def wall_time(at: float) -> float:
    """Engine clock (loop.time(), monotonic) -> epoch seconds."""
    return time.time() - time.monotonic() + at


class ObserverFeed:
    def __init__(self, loop: asyncio.AbstractEventLoop, observer: Observer, engine: Engine, log: LogFn,
                 guarded: Callable[[Callable[..., None]], Callable[..., None]], snapshots: bool = True) -> None:
        self._loop, self._observer, self._engine, self._log = loop, observer, engine, log
        self._pending: list[Observation] = []
        self._scheduled = False
        self._snapshot_cb = guarded(self._snapshot)
        self._last_status: object = None
        self._snapshots = loop.call_later(SNAPSHOT_PERIOD, self._snapshot_cb) if snapshots else None

    def __call__(self, item: Observation) -> None:
        self._pending.append(item)
        if not self._scheduled:
            self._scheduled = True
            self._loop.call_soon(self.flush)

    def flush(self) -> None:
        self._scheduled = False
        if not self._pending:
            return
        batch = tuple(self._pending)
        self._pending.clear()
        try:
            self._observer(batch)
        except Exception as exc:  # the console's bug must not take the router down
            self._log(LogLine(f"observer failed: {exc!r}", level="error"))

    def stop_snapshots(self) -> None:
        if self._snapshots is not None:
            self._snapshots.cancel()
            self._snapshots = None

    def _snapshot(self) -> None:
        now = self._loop.time()
        status = self._engine.status(now)
        if status != self._last_status:  # an idle console's UI process then wakes ~3 times a second, not 10
            self._last_status = status
            self(StatusSnapshot(now, wall_time(now), status))
        self._snapshots = self._loop.call_later(SNAPSHOT_PERIOD, self._snapshot_cb)
