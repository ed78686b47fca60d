"""keepalived's gratuitous ARP / NA schedule after becoming master, on a real event loop."""

from __future__ import annotations

import asyncio
import dataclasses

import pytest

from vrrptui.config.model import VrrpInstance
from vrrptui.daemon.garp_schedule import GratuitousSchedule

BASE = VrrpInstance("VI_1", "eth0", 51)


@pytest.fixture
def loop():  # type: ignore[no-untyped-def]
    loop = asyncio.new_event_loop()
    yield loop
    loop.close()


def schedule(loop: asyncio.AbstractEventLoop) -> tuple[GratuitousSchedule, list[tuple[str, int, float, bool]]]:
    bursts: list[tuple[str, int, float, bool]] = []
    sched = GratuitousSchedule(
        loop, lambda inst, count, spacing, first: bursts.append((inst.name, count, spacing, first))
    )
    return sched, bursts


def pending(sched: GratuitousSchedule, loop: asyncio.AbstractEventLoop, name: str = "VI_1") -> list[float]:
    return sorted(round(h.when() - loop.time(), 3) for h in sched._handles.get(name, []))


def test_defaults_send_five_at_once_and_five_more_after_garp_master_delay(loop: asyncio.AbstractEventLoop) -> None:
    sched, bursts = schedule(loop)
    sched.start(BASE)
    assert bursts == [("VI_1", 5, 0.0, True)]
    assert pending(sched, loop) == [5.0]  # garp_master_delay 5, no refresh by default


def test_refresh_repeats_while_master(loop: asyncio.AbstractEventLoop) -> None:
    sched, bursts = schedule(loop)
    inst = dataclasses.replace(BASE, garp_master_delay=1.0, garp_master_refresh=30.0, garp_master_refresh_repeat=2)
    sched.start(inst)
    assert pending(sched, loop) == [1.0, 31.0]
    sched._refresh(inst)  # what the timer does when it fires
    assert bursts[-1] == ("VI_1", 2, 0.0, False)
    assert 30.0 in pending(sched, loop)


def test_zero_delay_means_no_second_burst(loop: asyncio.AbstractEventLoop) -> None:
    sched, bursts = schedule(loop)
    sched.start(dataclasses.replace(BASE, garp_master_delay=0.0, garp_master_repeat=3, garp_interval=0.01))
    assert bursts == [("VI_1", 3, 0.01, True)]
    assert pending(sched, loop) == []


def test_leaving_master_cancels_pending_bursts(loop: asyncio.AbstractEventLoop) -> None:
    sched, _ = schedule(loop)
    sched.start(BASE)
    handles = list(sched._handles["VI_1"])
    sched.stop("VI_1")
    assert all(h.cancelled() for h in handles)
    assert not sched.active("VI_1")


def test_lower_priority_master_heard_sends_a_burst_now_and_one_after_the_delay(
        loop: asyncio.AbstractEventLoop) -> None:
    sched, bursts = schedule(loop)
    inst = dataclasses.replace(BASE, garp_lower_prio_repeat=2, garp_lower_prio_delay=3.0, garp_master_delay=0.0)
    sched.start(inst)
    sched.lower_priority(inst)
    assert bursts[-1] == ("VI_1", 2, 0.0, False)
    assert pending(sched, loop) == [3.0]
    sched.stop("VI_1")  # leaving MASTER cancels it too
    assert pending(sched, loop) == []
