"""Host network events on a master: the VIP stays on exactly one router (issue: host events).

r1 (priority 150) is master, r2 (100) backup, both vrrptui, VRRPv3 at 0.1 s; tcpdump on
the bridge is the witness. Each case failed before: a VIP deleted by hand stayed gone
(nobody answered for 20 s), a deleted primary left no holder for 17 s, a re-created
interface ended with both routers holding the VIP.
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

WAIT = 10.0  # bounds a hang only; speed is in benchmarks/faults.py


def pair(lab: Lab) -> tuple[subprocess.Popen[Any], subprocess.Popen[Any]]:
    p1 = lab.start_vrrptui("r1", conf(150), ["--log-detail"])
    assert lab.wait_for(lambda: lab.vip_holders(VIP) == ["r1"], WAIT)
    p2 = lab.start_vrrptui("r2", conf(100), ["--log-detail"])
    assert lab.wait_for(lambda: "Entering BACKUP STATE" in lab.log(p2), WAIT)
    return p1, p2


def logs(lab: Lab, *procs: subprocess.Popen[Any]) -> str:
    return "\n".join(f"--- {p.node} ---\n{lab.log(p)}" for p in procs)  # type: ignore[attr-defined]


def test_vip_deleted_by_hand_is_put_back_and_announced_without_an_election(lab: Lab) -> None:
    p1, p2 = pair(lab)
    cap = lab.capture(bpf="arp")
    deleted_at = time.time()
    faults.delete_vip(lab, "r1", f"{VIP}/24")
    assert lab.wait_for(lambda: lab.vip_holders(VIP) == ["r1"], WAIT), logs(lab, p1, p2)
    assert lab.wait_for(lambda: "added it back" in lab.log(p1), WAIT)

    def garps_since() -> list[str]:
        return [line for line in cap.read()
                if f"who-has {VIP} (ff:ff:ff:ff:ff:ff) tell {VIP}" in line and float(line.split()[0]) > deleted_at]

    assert lab.wait_for(garps_since, WAIT), cap.read()  # announced again: clients may have asked meanwhile
    assert "Entering MASTER STATE" not in lab.log(p2), logs(lab, p1, p2)  # no election was needed
    assert lab.log(p1).count("Entering MASTER STATE") == 1


def test_primary_address_deleted_hands_over_with_priority_zero_and_comes_back(lab: Lab) -> None:
    p1, p2 = pair(lab)
    cap = lab.capture(bpf="vrrp")
    faults.delete_primary(lab, "r1")  # the kernel flushes the VIP with it
    assert lab.wait_for(lambda: lab.vip_holders(VIP) == ["r2"], WAIT), logs(lab, p1, p2)
    assert lab.wait_for(lambda: any(a.src == lab.ip4("r1") and a.priority == 0 for a in cap.adverts()), WAIT)
    assert "(VI_1) Entering FAULT STATE" in lab.log(p1)
    assert "Entering MASTER STATE" in lab.log(p2)
    faults.restore_primary(lab, "r1")
    assert lab.wait_for(lambda: lab.vip_holders(VIP) == ["r1"], WAIT), logs(lab, p1, p2)
    assert lab.wait_for(lambda: "Entering BACKUP STATE" in lab.log(p2).rsplit("Entering MASTER STATE", 1)[1], WAIT)


def test_interface_deleted_and_recreated_reopens_sockets_and_one_router_holds_the_vip(lab: Lab) -> None:
    p1, p2 = pair(lab)
    faults.delete_interface(lab, "r1")
    assert lab.wait_for(lambda: lab.vip_holders(VIP) == ["r2"], WAIT), logs(lab, p1, p2)
    faults.create_interface(lab, "r1")
    assert lab.wait_for(lambda: "eth0 created again: reopening its VRRP sockets" in lab.log(p1), WAIT)
    # r1 hears r2 again and preempts it; r2 hears r1 and steps down: one holder, r1
    assert lab.wait_for(lambda: lab.vip_holders(VIP) == ["r1"], WAIT), logs(lab, p1, p2)
    assert lab.wait_for(lambda: "Entering BACKUP STATE" in lab.log(p2).rsplit("Entering MASTER STATE", 1)[1], WAIT)
    time.sleep(1.0)  # and it stays so
    assert lab.vip_holders(VIP) == ["r1"], logs(lab, p1, p2)


def test_a_router_started_without_an_address_waits_in_fault_until_one_comes(lab: Lab) -> None:
    # No advert can leave without a source address: r1 (150) used to take the VIP after Master_Down_Interval
    # while r2 (100) never heard of it, so both held it. keepalived enters FAULT; so does vrrptui now.
    p2 = lab.start_vrrptui("r2", conf(100), ["--log-detail"])
    assert lab.wait_for(lambda: lab.vip_holders(VIP) == ["r2"], WAIT)
    faults.delete_primary(lab, "r1")
    p1 = lab.start_vrrptui("r1", conf(150), ["--log-detail"])
    assert lab.wait_for(lambda: "(VI_1) Entering FAULT STATE" in lab.log(p1), WAIT), logs(lab, p1, p2)
    time.sleep(1.0)  # ten advert intervals: r1 stays out
    assert lab.vip_holders(VIP) == ["r2"], logs(lab, p1, p2)
    assert "Entering MASTER STATE" not in lab.log(p1)
    faults.restore_primary(lab, "r1")
    assert lab.wait_for(lambda: lab.vip_holders(VIP) == ["r1"], WAIT), logs(lab, p1, p2)


@pytest.mark.parametrize("node", ["r2", "r1"])
def test_an_interface_moved_to_another_namespace_and_back_is_heard_again(lab: Lab, node: str) -> None:
    # The veth keeps its index, and the kernel dropped its multicast groups on the way out: the router went on
    # deaf to adverts, so both routers held the VIP for good (keepalived sees the link deleted and added).
    p1, p2 = pair(lab)
    park = f"vrrptui-{lab.tag}-park"
    ifname = lab.iface(node)
    subprocess.run(["ip", "netns", "add", park], check=True)
    try:
        subprocess.run(["ip", "-n", lab.ns(node), "link", "set", ifname, "netns", park], check=True)
        time.sleep(0.5)
        subprocess.run(["ip", "-n", park, "link", "set", ifname, "netns", lab.ns(node)], check=True)
    finally:
        subprocess.run(["ip", "netns", "del", park], check=False)
    faults.restore_primary(lab, node)
    lab.exec(node, ["ip", "link", "set", ifname, "up"])
    proc = p1 if node == "r1" else p2
    assert lab.wait_for(lambda: "created again: reopening its VRRP sockets" in lab.log(proc), WAIT), logs(lab, p1, p2)
    assert lab.wait_for(lambda: lab.vip_holders(VIP) == ["r1"], WAIT), logs(lab, p1, p2)
    time.sleep(1.0)  # ten advert intervals: each hears the other
    assert lab.vip_holders(VIP) == ["r1"], logs(lab, p1, p2)
