"""The replay player on a fake clock: records handed over at their recorded times, pause, speed, jumps."""

from __future__ import annotations

import ipaddress
import threading

from vrrptui.console.replay_player import LEAD, ReplayPlayer
from vrrptui.protocol.packet import Advert
from vrrptui.records import Heard

T0 = 1_700_000_000.0


def advert(at: float) -> Heard:
    a = Advert.from_fields(3, 51, 100, 1.0, ("192.168.1.100",))
    return Heard("pcap", at, ipaddress.ip_address("192.168.1.12"), ipaddress.ip_address("224.0.0.18"), 255, a)


class Clock:
    def __init__(self) -> None:
        self.t = 50.0

    def __call__(self) -> float:
        return self.t


def test_the_replay_clock_follows_real_time_times_the_speed_and_stops_at_the_end():
    clock = Clock()
    p = ReplayPlayer([advert(T0 + i) for i in range(20)], [T0 + 12.0], clock=clock)
    assert p.now() == T0
    clock.t += 2.0
    assert p.now() == T0 + 2.0
    assert p.toggle() is False  # paused
    clock.t += 5.0
    assert p.now() == T0 + 2.0
    assert p.toggle() is True
    assert p.set_speed(1) == 2.0 and p.set_speed(1) == 5.0 and p.set_speed(-1) == 2.0
    clock.t += 1.0
    assert p.now() == T0 + 4.0
    clock.t += 100.0
    assert p.now() == T0 + 19.0


def test_next_failover_plays_from_two_seconds_before_it_then_the_one_after():
    clock = Clock()
    p = ReplayPlayer([advert(T0 + i) for i in range(60)], [T0 + 1.0, T0 + 30.0, T0 + 50.0], clock=clock)
    p.toggle()
    assert p.next_failover() == T0 + 1.0 and p.now() == T0 and p.playing  # within LEAD: from here
    assert p.next_failover() == T0 + 30.0 and p.now() == T0 + 30.0 - LEAD
    assert p.next_failover() == T0 + 50.0
    assert p.next_failover() is None


def test_run_hands_over_each_record_once_when_its_time_has_come():
    clock = Clock()
    records = [advert(T0 + i * 0.5) for i in range(6)]
    p = ReplayPlayer(records, [], clock=clock)
    batches: list[tuple] = []
    seen = threading.Event()

    def observer(batch):
        batches.append(batch)
        seen.set()

    worker = threading.Thread(target=p.run, args=(observer,))
    worker.start()
    try:
        assert seen.wait(5)
        assert [r.at for b in batches for r in b] == [T0]
        seen.clear()
        clock.t += 1.0
        p.set_speed(0)  # wakes the player
        assert seen.wait(5)
        assert [r.at for b in batches for r in b] == [T0, T0 + 0.5, T0 + 1.0]
    finally:
        p.stop()
        worker.join(5)
    assert not worker.is_alive()
