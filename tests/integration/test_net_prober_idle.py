"""The VIP prober sleeps until something is due: new VIPs wake it, and with nothing to probe it does
not poll. Counts of wake-ups, not times; no packets are sent (the VIPs have no interface)."""

from __future__ import annotations

import threading
import time

from vrrptui.net.prober import VipProber
from vrrptui.records import LocalPresence


def wait_for(predicate, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


def test_new_vips_wake_the_prober_and_nothing_polls_in_between():
    lock = threading.Lock()
    events: list = []
    asked: list[int] = []

    def report(batch) -> None:
        with lock:
            events.extend(batch)

    def netlink() -> set[str]:
        asked.append(1)
        return {"192.0.2.1"}

    prober = VipProber(report, rate=20.0, netlink=netlink)  # the old loop woke every 50 ms
    prober.start()
    try:
        assert wait_for(lambda: len(asked) == 1)  # at start: which addresses are local
        prober.set_vips([("192.0.2.1", None), ("192.0.2.2", None)])
        assert wait_for(lambda: len([e for e in events if isinstance(e, LocalPresence)]) == 2)
        with lock:
            assert sorted((e.vip, e.present) for e in events) == [("192.0.2.1", True), ("192.0.2.2", False)]
        woken, polls = prober.wakeups, len(asked)
        prober.set_vips([("192.0.2.2", None), ("192.0.2.1", None)])  # the same VIPs: no wake-up
        time.sleep(0.5)  # ten of the old loop's polls
        assert (prober.wakeups, len(asked)) == (woken, polls)
        assert prober.errors == []
    finally:
        prober.stop()
    assert prober._thread is not None and not prober._thread.is_alive()
