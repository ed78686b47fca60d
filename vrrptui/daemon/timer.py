"""One asyncio timer at the engine's next deadline (`Engine.get_timer()`), re-armed after every engine call."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from vrrptui.engine.engine import Engine

EPOLL_ROUNDING = 0.001  # seconds: epoll_wait takes whole milliseconds, rounded up by asyncio


class EngineTimer:
    def __init__(self, loop: asyncio.AbstractEventLoop, engine: Engine, fire: Callable[[float], None],
                 guarded: Callable[[Callable[..., None]], Callable[..., None]]) -> None:
        self._loop, self._engine, self._fire = loop, engine, fire
        self._on_timer = guarded(self._expired)
        self._handle: asyncio.TimerHandle | None = None
        self._at: float | None = None
        self._epoch: int | None = None  # the engine's timer_epoch when its deadline was last read

    def rearm(self) -> None:
        engine = self._engine
        if engine.timer_epoch == self._epoch:  # no deadline became earlier: the armed handle (or none) holds
            return
        deadline = engine.get_timer()
        epoch = engine.timer_epoch
        if deadline == self._at and (deadline is None or self._handle is not None):
            self._epoch = epoch
            return
        # A backup's deadline moves later with every advert: keep an armed timer that fires no later
        # than needed (it re-arms when it fires) instead of re-arming per packet.
        if deadline is not None and self._handle is not None and self._at is not None and self._at <= deadline:
            self._epoch = epoch
            return
        self.cancel()
        self._epoch, self._at = epoch, deadline
        # epoll rounds its timeout up to the next millisecond, so a handle armed at the deadline runs
        # 0-1 ms late; arm it that much early and treat the deadline as come
        if deadline is not None:
            self._handle = self._loop.call_at(deadline - EPOLL_ROUNDING, self._on_timer)

    def cancel(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
        self._handle = None
        self._at = None
        self._epoch = None

    def _expired(self) -> None:
        deadline = self._at
        self._handle = None
        self._at = None
        self._epoch = None
        now = self._loop.time()
        # armed EPOLL_ROUNDING early (and asyncio may run a handle up to its clock resolution early)
        self._fire(max(now, deadline) if deadline is not None else now)
