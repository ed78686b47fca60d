"""Partition, then heal: the winner points the clients back at itself (keepalived's garp_lower_prio_repeat).

The bridge stops forwarding between r1 (150) and r2 (100) only (nftables), so both become
master and the client follows r2's gratuitous ARPs. At the heal r1 hears r2's lower-priority
adverts: it answers with an advert and a GARP burst, so the client's ARP entry for the VIP
is r1's MAC again at once (before, it stayed on r2 until the entry went stale, ~3.5 s of
lost pings). Against vrrptui and against keepalived 2.2.7 as the losing side.
"""

from __future__ import annotations

import subprocess
import time
from typing import Any

import pytest

from vrrptui.lab import faults
from vrrptui.lab.netns import VIP, Lab
from vrrptui.lab.netns import fast_v3_conf as conf

pytestmark = pytest.mark.netns

WAIT = 10.0


def client_mac_for_vip(lab: Lab) -> str | None:
    for entry in lab.neigh("pc1"):
        if entry.get("dst") == VIP:
            return entry.get("lladdr")
    return None


def partition_and_heal(lab: Lab, winner: subprocess.Popen[Any], loser: subprocess.Popen[Any]) -> float:
    lab.exec("pc1", ["ping", "-c", "1", "-W", "1", VIP])  # the client learns the VIP's MAC
    assert lab.wait_for(lambda: client_mac_for_vip(lab) == lab.mac("r1"), WAIT)
    faults.partition(lab, "r1", "r2")
    assert lab.wait_for(lambda: lab.vip_holders(VIP) == ["r1", "r2"], WAIT), lab.log(loser)
    assert lab.wait_for(lambda: client_mac_for_vip(lab) == lab.mac("r2"), WAIT)  # it followed r2's GARPs
    healed_at = time.time()
    faults.heal_partition(lab)
    assert lab.wait_for(lambda: lab.vip_holders(VIP) == ["r1"], WAIT), lab.log(winner) + lab.log(loser)
    return healed_at


def test_after_a_partition_heals_the_winner_sends_gratuitous_arp_and_the_client_follows(lab: Lab) -> None:
    winner = lab.start_vrrptui("r1", conf(150, extra="garp_master_delay 0"), ["--log-detail"])
    assert lab.wait_for(lambda: lab.vip_holders(VIP) == ["r1"], WAIT)
    loser = lab.start_vrrptui("r2", conf(100), ["--log-detail"])
    cap = lab.capture(bpf="arp")
    healed_at = partition_and_heal(lab, winner, loser)
    r1_mac = lab.mac("r1")

    def garps_since_heal() -> list[str]:
        return [line for line in cap.read(["-e"]) if line.split()[1] == r1_mac and f"tell {VIP}" in line
                and float(line.split()[0]) > healed_at]

    assert lab.wait_for(garps_since_heal, WAIT), cap.read(["-e"])
    assert lab.wait_for(lambda: client_mac_for_vip(lab) == r1_mac, WAIT)
    assert "with lower priority 100, ours 150, forcing new election" in lab.log(winner)


def test_keepalived_as_the_lower_priority_master_is_answered_with_gratuitous_arp(lab: Lab) -> None:
    winner = lab.start_vrrptui("r1", conf(150, extra="garp_master_delay 0"), ["--log-detail"])
    assert lab.wait_for(lambda: lab.vip_holders(VIP) == ["r1"], WAIT)
    # keepalived only advertises as it steps down with higher_prio_send_advert (vrrptui's default)
    loser = lab.start_keepalived("r2", conf(100, extra="higher_prio_send_advert"))
    assert lab.wait_for(lambda: "Entering BACKUP STATE" in lab.log(loser), WAIT)
    partition_and_heal(lab, winner, loser)
    assert lab.wait_for(lambda: client_mac_for_vip(lab) == lab.mac("r1"), WAIT)
    assert "(VI_1) Master received advert from 192.168.1.11 with higher priority 150, ours 100" in lab.log(loser)
