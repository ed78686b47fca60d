"""The replay console on a capture written here with scapy, its clock frozen: the panes as of a
recorded moment, after `>` jumped to the failover (r1 silent, r2 taking over after Master_Down_Interval)."""

from __future__ import annotations

import ipaddress

from scapy.layers.inet import IP
from scapy.layers.l2 import ARP, Ether
from scapy.packet import Raw
from scapy.utils import wrpcap

from vrrptui.console.replay_app import ReplayConsole
from vrrptui.console.replay_player import ReplayPlayer
from vrrptui.observe.failovers import find_failovers
from vrrptui.protocol.packet import Advert, encode
from vrrptui.replay.capture import read_capture

T0 = 1_700_000_000.0  # 2023-11-14 22:13:20 UTC
R1, R2, VIP = "192.168.1.11", "192.168.1.12", "192.168.1.100"
MAC1, MAC2 = "02:00:00:00:00:11", "02:00:00:00:00:12"


def frame(src: str, mac: str, prio: int, at: float):
    a = Advert.from_fields(3, 51, prio, 0.1, (VIP,))
    s, d = ipaddress.ip_address(src), ipaddress.ip_address("224.0.0.18")
    pkt = Ether(src=mac, dst="01:00:5e:00:00:12") / IP(src=src, dst=str(d), ttl=255, proto=112) / Raw(encode(a, s, d))
    pkt.time = at
    return pkt


def capture(tmp_path):
    frames = [frame(R1, MAC1, 150, T0 + i * 0.1) for i in range(30)]  # r1 until +2.9 s, then silent
    frames += [frame(R2, MAC2, 100, T0 + 3.261 + i * 0.1) for i in range(20)]
    garp = Ether(src=MAC2, dst="ff:ff:ff:ff:ff:ff") / ARP(op=1, hwsrc=MAC2, psrc=VIP, pdst=VIP)
    garp.time = T0 + 3.2612
    path = tmp_path / "failover.pcap"
    wrpcap(str(path), sorted(frames + [garp], key=lambda p: p.time))
    return read_capture(path)


class Frozen:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def test_replay_after_a_jump_to_the_failover(snap_compare, tmp_path):
    cap = capture(tmp_path)
    (failover,) = find_failovers(cap.records)
    assert (failover.old_master, failover.new_master, failover.takeover_ms, failover.missed_adverts) == \
        (R1, R2, 361.0, 3)
    assert [(a.vip, a.mac, a.owner, a.kind) for a in failover.vip_answers] == [(VIP, MAC2, R2, "announce")]
    clock = Frozen()
    player = ReplayPlayer(cap.records, [failover.at], clock=clock)
    app = ReplayConsole(player, "failover.pcap")
    app.timers = False

    async def run_before(pilot):
        await pilot.press("greater_than_sign")  # to 2 s before the takeover; the clock is frozen
        clock.t += 3.0  # three recorded seconds later: the takeover and 0.74 s of r2 as master
        player.set_speed(0)  # wakes the player
        await pilot.pause(0.5)
        app.refresh_slow()
        app.refresh_panes()
        pilot.app.query_one("#tabs").active = "tab-history"
        app.refresh_panes()
        await pilot.pause()

    assert snap_compare(app, terminal_size=(120, 36), run_before=run_before)
    assert player.now() == failover.at - 2.0 + 3.0
