"""The lab pinger's outage figure (vrrptui.lab.witness.Pinger.outage), on reply times given here."""

from __future__ import annotations

import threading

import pytest

from vrrptui.lab.witness import Pinger


def pinger(times: list[float]) -> Pinger:
    p = Pinger.__new__(Pinger)  # no ping process: only the replies it would have parsed
    p._lock = threading.Lock()
    p.replies = [(t, i) for i, t in enumerate(times)]
    return p


def test_an_outage_that_begins_when_the_fault_is_injected_is_counted_whole():
    """Found by the fault benchmark: with the replies stopping at the fault (START), only the gaps after the
    first reply back were counted: a link down with nobody holding the VIP for 312 ms read 18 ms."""
    replies = [0.97, 0.98, 0.99, 1.35, 1.36, 1.37]
    assert pinger(replies).outage(start=1.0) == pytest.approx(0.36)
    assert pinger(replies).outage(start=1.0, end=1.36) == pytest.approx(0.36)
    assert pinger(replies).outage(start=1.36) == pytest.approx(0.01)
    assert pinger(replies).outage(end=0.99) == pytest.approx(0.01)
    assert pinger([]).outage(start=1.0) == 0.0
