"""A drill's theory (RFC 5798 timers) and the lab client's outage, from a fake clock and ping lines."""

from __future__ import annotations

from vrrptui.observe.drills import client_outage_ms, theory_ms
from vrrptui.records import Drill

A, B = "192.168.1.11", "192.168.1.12"


def drill(action: str, acted_at: float, old_last: float | None, old: str = A, new: str = B) -> Drill:
    return Drill(action, "VI_1", "eth0", 51, 4, "2026-12-03T04:00:00+0000", acted_at, old, new,
                 old_last_advert_at=old_last)


def test_demote_theory_is_the_new_masters_skew_time():
    assert theory_ms(drill("demote", 10.0, 9.95), 3, 0.1, 100, False) == round((256 - 100) * 0.1 / 256 * 1000, 1)


def test_failover_theory_is_master_down_interval_from_the_old_masters_last_advert():
    # v3 at 0.1 s, backup priority 100: 0.3 + 0.0609375 s after the last advert, 40 ms of it gone at the act
    assert theory_ms(drill("failover", 10.04, 10.0), 3, 0.1, 100, False) == 320.9
    assert theory_ms(drill("failover", 10.0, None), 2, 1.0, 100, False) == round((3 + 156 / 256) * 1000, 1)


def test_failover_on_a_backup_takes_over_at_once():
    assert theory_ms(drill("failover", 10.05, 10.0, old=B, new=A), 3, 0.1, 150, True) == 0.0
    assert theory_ms(drill("failover", 10.05, 10.0), 3, 0.1, None, False) is None


def ping(t: float, seq: int) -> str:
    return f"[{t:.6f}] 64 bytes from 192.168.1.100: icmp_seq={seq} ttl=64 time=0.064 ms"


def test_client_outage_is_the_longest_gap_around_the_drill_beyond_the_ping_interval():
    lines = [ping(100 + i * 0.2, i) for i in range(10)]  # up to 101.8
    lines.append("[102.000000] no answer yet for icmp_seq=10")
    lines += [ping(102.6 + i * 0.2, 13 + i) for i in range(5)]  # back at 102.6
    assert client_outage_ms(lines, 101.9, 102.3) == 600.0
    assert client_outage_ms(lines, 100.1, 100.3) == 0.0
    assert client_outage_ms(lines, 103.0, 104.0) is None  # the client has not answered since: not known yet
    assert client_outage_ms([], 1.0, 2.0) is None
