"""Hostile adverts from a third host on the segment (scapy-crafted, raw socket) against a vrrptui pair.

Routers r1 (.11) and r2 (.12), the attacker `evil` (.3), in namespaces. Assertions are about
protocol behaviour and bounds (who holds the VIP, transitions, counters, log lines, RSS);
the waits only bound how long a broken test may hang.
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import pytest
from test_daemon_failover import WAIT, status, wait_holders, wait_state

from vrrptui.lab.hostile import MCAST, Attacker, v2_advert, v3_advert
from vrrptui.lab.netns import VIP, Lab
from vrrptui.lab.netns import fast_v3_conf as conf

pytestmark = pytest.mark.netns

EVIL = "evil"


@pytest.fixture
def hostile_lab(make_lab) -> Lab:
    lab = make_lab(clients=("pc1", EVIL))
    for node in ("r1", "r2"):  # off-subnet sources must reach the daemon (the host's rp_filter may differ)
        lab.sysctl(node, {"net.ipv4.conf.all.rp_filter": "0", "net.ipv4.conf.eth0.rp_filter": "0"})
    return lab


@pytest.fixture
def attacker(hostile_lab: Lab) -> Attacker:
    return Attacker(hostile_lab, EVIL)


def rss_kb(pid: int) -> int:
    text = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"VmRSS:\s+(\d+) kB", text).group(1))  # type: ignore[union-attr]


def counters(lab: Lab, node: str, proc: Any) -> dict[str, Any]:
    return status(lab, node, proc)["VI_1"]["counters"]


def settled(read: Any) -> int:
    """`read()` once it stops growing (the daemon has read what the kernel queued; under load it drops some)."""
    last = read()
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        time.sleep(0.5)
        now = read()
        if now == last:
            return int(now)
        last = now
    return int(last)


def test_ttl_63_adverts_to_our_own_address_are_dropped_and_the_master_keeps_the_vip(
        hostile_lab: Lab, attacker: Attacker) -> None:
    lab = hostile_lab
    p1 = lab.start_vrrptui("r1", conf(150))
    p2 = lab.start_vrrptui("r2", conf(100))
    assert wait_holders(lab, ["r1"]) and wait_state(lab, "r2", p2, "BACKUP")
    evil = lab.ip4(EVIL)
    # the case: priority 254, interval 40.95 s, TTL 63, sent to each router's own address
    round_ = [v3_advert(evil, dst, priority=254, ttl=63, interval_cs=4095)
              for dst in (lab.ip4("r1"), lab.ip4("r2"), MCAST)]
    attacker.send_each(round_ * 3, gap=0.02)
    assert lab.wait_for(lambda: counters(lab, "r2", p2)["drops"]["ttl"] >= 6, WAIT)
    time.sleep(1.0)  # ten of r1's intervals: any takeover or step-down would have happened
    assert lab.vip_holders(VIP) == ["r1"]
    r1, r2 = status(lab, "r1", p1)["VI_1"], status(lab, "r2", p2)["VI_1"]
    assert (r1["state"], r1["counters"]["released_master"], r1["counters"]["drops"]["ttl"]) == ("MASTER", 0, 6)
    assert (r2["state"], r2["master_address"], r2["learned_advert_int"]) == ("BACKUP", "192.168.1.11", 0.1)
    assert "(unicast). Received 63 and expect 255" in lab.log(p1)


def test_the_address_owner_keeps_master_against_spoofed_priority_255_adverts(
        hostile_lab: Lab, attacker: Attacker) -> None:
    lab = hostile_lab
    p1 = lab.start_vrrptui("r1", conf(255))
    assert wait_holders(lab, ["r1"])
    higher = "192.168.1.250"
    attacker.send_each([v3_advert(higher, MCAST, priority=255)] * 30, gap=0.02)
    assert lab.wait_for(lambda: counters(lab, "r1", p1)["drops"]["owner_conflict"] >= 30, WAIT)
    r1 = status(lab, "r1", p1)["VI_1"]
    assert (r1["state"], r1["counters"]["released_master"]) == ("MASTER", 0)
    assert lab.vip_holders(VIP) == ["r1"]
    assert "claims priority 255 but we own the addresses" in lab.log(p1)


def test_wrong_password_flood_from_random_sources_bounded_rss_and_log_lines_no_flap(
        hostile_lab: Lab, attacker: Attacker) -> None:
    lab = hostile_lab
    v2 = """
vrrp_instance VI_1 {{
    state BACKUP
    interface eth0
    virtual_router_id 51
    priority {priority}
    advert_int 1
    authentication {{
        auth_type PASS
        auth_pass 1212
    }}
    virtual_ipaddress {{
        192.168.1.100/24
    }}
}}
"""
    p1 = lab.start_vrrptui("r1", v2.format(priority=150))
    p2 = lab.start_vrrptui("r2", v2.format(priority=100))
    assert wait_holders(lab, ["r1"]) and wait_state(lab, "r2", p2, "BACKUP")
    time.sleep(1.0)
    before = rss_kb(p2.pid)
    lines_before = lab.log(p2).count("invalid passwd")
    flood = v2_advert("10.0.0.1", MCAST, priority=200, password=b"9999")
    seconds = attacker.flood(flood, 100_000, rate=10_000)
    first = settled(lambda: counters(lab, "r2", p2)["drops"]["auth"])
    after = rss_kb(p2.pid)
    seconds += attacker.flood(flood, 100_000, rate=10_000, seed=2)  # a second run: no further growth
    received = settled(lambda: counters(lab, "r2", p2)["drops"]["auth"])
    again = rss_kb(p2.pid)
    assert first > 10_000 and received - first > 10_000  # the floods reached the daemon
    lines = lab.log(p2).count("invalid passwd") - lines_before
    r1, r2 = status(lab, "r1", p1)["VI_1"], status(lab, "r2", p2)["VI_1"]
    print(f"\nflood: {attacker.sent} wrong-password adverts in {seconds:.1f} s; backup received "
          f"{r2['counters']['drops']['auth']}, RSS {before} -> {after} -> {again} kB, {lines} log lines, "
          f"became master {r2['counters']['became_master']}")
    assert lines <= seconds / 10 + 2  # one line per 10 s window
    assert after - before < 8192 and again - after < 1024
    assert (r2["state"], r2["counters"]["became_master"]) == ("BACKUP", 0)
    assert (r1["state"], r1["counters"]["released_master"]) == ("MASTER", 0)
    assert lab.vip_holders(VIP) == ["r1"]


def test_master_answers_a_lower_priority_flood_at_a_bounded_rate(hostile_lab: Lab, attacker: Attacker) -> None:
    lab = hostile_lab
    p1 = lab.start_vrrptui("r1", conf(150))
    assert wait_holders(lab, ["r1"])
    sent_before = counters(lab, "r1", p1)["adverts_sent"]
    start = time.monotonic()
    seconds = attacker.flood(v3_advert("10.0.0.1", MCAST, priority=50), 20_000, rate=10_000)
    assert settled(lambda: counters(lab, "r1", p1)["replies_limited"]) > 2000  # the flood reached the daemon
    elapsed = time.monotonic() - start
    c = counters(lab, "r1", p1)
    out = c["adverts_sent"] - sent_before
    print(f"\nreplies: {attacker.sent} lower-priority adverts in {seconds:.1f} s -> {out} adverts out "
          f"in {elapsed:.1f} s ({c['replies_limited']} answers held back)")
    # regular adverts (10/s) + at most one answer per interval after a burst of 3
    assert out <= 2 * elapsed / 0.1 + 3 + 2
    assert status(lab, "r1", p1)["VI_1"]["state"] == "MASTER"
