"""The Peers pane's detail: a source's state history, advert-interval jitter and last adverts."""

from __future__ import annotations

import ipaddress

from vrrptui.observe import Heard, PeerTable
from vrrptui.protocol.packet import Advert



def heard(src: str, at: float, prio: int) -> Heard:
    a = Advert.from_fields(2, 150, prio, 1.0, ("192.168.1.13",), auth_pass="1212")
    return Heard("eth0", at, ipaddress.ip_address(src), ipaddress.ip_address("224.0.0.18"), 255, a, b"",
                 "02:00:00:00:00:12" if src.endswith(".12") else None)


def test_detail_has_the_state_history_as_heard_on_the_wire():
    table = PeerTable()
    for i in range(5):
        table.heard(heard("192.168.1.12", 100 + i, 101))
    table.heard(heard("192.168.1.12", 105, 0))  # resigns
    table.heard(heard("192.168.1.11", 105.01, 100))  # takes over
    table.heard(heard("192.168.1.12", 110, 120))  # comes back higher and preempts
    old = table.detail("eth0/150/4/192.168.1.12", 110.5)
    new = table.detail("eth0/150/4/192.168.1.11", 110.5)
    assert old.peer.src_mac == "02:00:00:00:00:12"
    assert list(old.history) == [(100, "first heard, priority 101"), (100, "master"),
                                 (105, "resigned (priority 0)"), (110, "priority 0 -> 120"),
                                 (110, "master (after 192.168.1.11)")]
    assert list(new.history) == [(105.01, "first heard, priority 100"), (105.01, "master"),
                                 (110, "backup (192.168.1.12 is master)")]
    assert [(at, a.priority) for at, a in old.last_adverts] == [
        (100, 101), (101, 101), (102, 101), (103, 101), (104, 101), (105, 0), (110, 120)]


def test_detail_measures_the_gaps_between_adverts():
    table = PeerTable()
    for at in (100.0, 101.0, 101.9, 103.1, 104.0):
        table.heard(heard("192.168.1.12", at, 101))
    stats = table.detail("eth0/150/4/192.168.1.12", 104.5).intervals
    assert stats.count == 4
    assert round(stats.mean, 3) == 1.0 and round(stats.low, 3) == 0.9 and round(stats.high, 3) == 1.2
    assert round(stats.jitter * 1000, 1) == 122.5  # std dev of 1.0, 0.9, 1.2, 0.9


def test_detail_of_a_forgotten_source_is_none():
    table = PeerTable()
    table.heard(heard("192.168.1.12", 100, 101))
    table.expire(100 + 601)
    assert table.detail("eth0/150/4/192.168.1.12", 701) is None
