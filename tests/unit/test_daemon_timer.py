"""EngineTimer: one asyncio handle, re-armed only when the engine's deadline may have become earlier."""

from __future__ import annotations

import asyncio

from vrrptui.daemon.timer import EPOLL_ROUNDING, EngineTimer


class FakeEngine:
    def __init__(self) -> None:
        self.deadline: float | None = 10.0
        self.timer_epoch = 0
        self.asked = 0

    def get_timer(self) -> float | None:
        self.asked += 1
        return self.deadline


def test_rearm_reads_the_deadline_only_when_it_may_have_become_earlier() -> None:
    loop = asyncio.new_event_loop()
    try:
        engine = FakeEngine()
        timer = EngineTimer(loop, engine, lambda now: None, lambda f: f)  # type: ignore[arg-type]
        timer.rearm()
        assert engine.asked == 1 and timer._at == 10.0
        engine.deadline = 12.0  # later (a backup heard its master): the epoch stays, nothing is asked
        timer.rearm()
        assert engine.asked == 1 and timer._at == 10.0
        engine.deadline, engine.timer_epoch = 5.0, 1  # earlier (priority 0 heard): re-armed
        timer.rearm()
        assert engine.asked == 2 and timer._at == 5.0
        assert timer._handle is not None and timer._handle.when() == 5.0 - EPOLL_ROUNDING
        engine.timer_epoch = 2  # may be earlier but is later: the armed handle fires no later than needed
        engine.deadline = 6.0
        timer.rearm()
        assert engine.asked == 3 and timer._at == 5.0
        timer.cancel()
        timer.rearm()  # cancelled: asks again whatever the epoch
        assert engine.asked == 4 and timer._at == 6.0
        timer.cancel()
    finally:
        loop.close()
