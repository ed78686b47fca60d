"""Host events on a use_vmac master: its macvlan comes back, and one router holds the VIP.

r1 (priority 150, vrrptui, use_vmac) is master, r2 (100) keepalived 2.2.7 as the peer,
VRRPv3 at 0.1 s. `ip -ts monitor address` in both routers and tcpdump on the bridge are the
witnesses. Before: the VMAC deleted by hand was never made again, r1 stayed MASTER with no
VIP and no adverts, and its lower-priority GARPs pulled the clients to the virtual MAC nobody
answered on; after a re-created base interface r1 became master again with no VMAC at all.
"""

from __future__ import annotations

import subprocess
import time
from typing import Any

import pytest

from vrrptui.lab import faults
from vrrptui.lab.faults import AddressWatch
from vrrptui.lab.netns import VIP, Lab
from vrrptui.lab.netns import fast_v3_conf as conf
from vrrptui.net.vmac import link_local_from_mac

pytestmark = pytest.mark.netns

WAIT = 10.0  # bounds a hang only; speed is in benchmarks/faults.py
VMAC_IF = "vrrp.51"
VMAC = "00:00:5e:00:01:33"


@pytest.fixture
def pair(lab: Lab, keepalived_ok: str, tcpdump_ok: str) -> tuple[subprocess.Popen[Any], subprocess.Popen[Any]]:
    p1 = lab.start_vrrptui("r1", conf(150, extra="use_vmac"), ["--log-detail"])
    assert lab.wait_for(lambda: lab.vip_holders(VIP) == ["r1"], WAIT), lab.log(p1)
    p2 = lab.start_keepalived("r2", conf(100))
    assert lab.wait_for(lambda: "Entering BACKUP STATE" in lab.log(p2), WAIT), lab.log(p2)
    return p1, p2


def logs(lab: Lab, *procs: subprocess.Popen[Any]) -> str:
    return "\n".join(f"--- {p.node} ---\n{lab.log(p)}" for p in procs)  # type: ignore[attr-defined]


def vmac_link(lab: Lab) -> str:
    return lab.exec("r1", ["ip", "-d", "link", "show", VMAC_IF]).stdout


def on_vmac(lab: Lab) -> bool:
    return any(a.get("local") == VIP for a in lab._addr_json("r1", VMAC_IF))


def adverts_from_vmac(cap: Any, since: float) -> list[str]:
    return [line for line in cap.read(["-e"])
            if float(line.split()[0]) > since and line.split()[1] == VMAC and "prio 150" in line]


def garps_from_vmac(cap: Any, since: float) -> list[str]:
    return [line for line in cap.read(["-e"]) if float(line.split()[0]) > since and line.split()[1] == VMAC
            and f"who-has {VIP} (ff:ff:ff:ff:ff:ff) tell {VIP}" in line]


@pytest.mark.parametrize("how", ["deleted", "set down"])
def test_vmac_deleted_or_set_down_by_hand_comes_back_with_its_vip_and_no_election(
        lab: Lab, pair: tuple[subprocess.Popen[Any], subprocess.Popen[Any]], how: str) -> None:
    p1, p2 = pair
    watch = AddressWatch(lab)
    cap = lab.capture(bpf="vrrp or arp")
    t0 = time.time()
    lab.exec("r1", ["ip", "link", "del" if how == "deleted" else "set", VMAC_IF, *([] if how == "deleted" else
                                                                                   ["down"])], check=True)
    assert lab.wait_for(lambda: "state UP" in vmac_link(lab).split("\n", 1)[0] and on_vmac(lab), WAIT), \
        logs(lab, p1, p2)
    link = vmac_link(lab)
    assert f"link/ether {VMAC}" in link and "macvlan mode private" in link and f"{VMAC_IF}@eth0" in link
    assert lab.wait_for(lambda: adverts_from_vmac(cap, t0), WAIT), cap.read(["-e"])  # adverts resumed
    assert lab.wait_for(lambda: garps_from_vmac(cap, t0), WAIT), cap.read(["-e"])  # and announced again
    time.sleep(1.0)
    assert lab.vip_holders(VIP) == ["r1"], logs(lab, p1, p2)
    assert watch.both(VIP, t0, time.time()) == 0  # never two holders
    assert "Entering MASTER STATE" not in lab.log(p2), logs(lab, p1, p2)  # r2 never saw r1 go
    assert lab.log(p1).count("Entering MASTER STATE") == 1
    assert "Entering FAULT STATE" not in lab.log(p1)


def test_base_deleted_and_recreated_gets_a_new_vmac_and_one_holder(
        lab: Lab, pair: tuple[subprocess.Popen[Any], subprocess.Popen[Any]]) -> None:
    p1, p2 = pair
    faults.delete_interface(lab, "r1")  # the kernel deletes the macvlan with its base
    assert lab.wait_for(lambda: lab.vip_holders(VIP) == ["r2"], WAIT), logs(lab, p1, p2)
    cap = lab.capture(bpf="vrrp or arp")
    t1 = time.time()
    faults.create_interface(lab, "r1")
    assert lab.wait_for(lambda: lab.vip_holders(VIP) == ["r1"] and on_vmac(lab), WAIT), logs(lab, p1, p2)
    assert f"{VMAC_IF}@eth0" in vmac_link(lab)  # on the new eth0
    assert lab.wait_for(lambda: adverts_from_vmac(cap, t1), WAIT)
    # the new base has the ARP settings a VMAC needs (it does not answer for the VIP with its own MAC)
    settings = lab.exec("r1", ["sysctl", "-n", "net.ipv4.conf.eth0.arp_ignore", "net.ipv4.conf.eth0.arp_filter"])
    assert settings.stdout.split() == ["1", "1"]
    assert lab.wait_for(lambda: "Entering BACKUP STATE" in lab.log(p2).rsplit("Entering MASTER STATE", 1)[1], WAIT)
    time.sleep(1.0)  # and it stays so
    assert lab.vip_holders(VIP) == ["r1"], logs(lab, p1, p2)


def vmac_routes(lab: Lab) -> list[str]:
    return lab.exec("r1", ["ip", "-4", "route", "show", "dev", VMAC_IF]).stdout.splitlines()


def routes_on_vmac(lab: Lab) -> bool:
    lines = vmac_routes(lab)
    return (any(line.startswith("10.9.9.0/24") for line in lines)
            and any(line.startswith("10.9.8.0/24") and f"src {VIP}" in line for line in lines))


@pytest.mark.parametrize("how", ["deleted", "set down"])
def test_virtual_routes_go_back_on_a_vmac_brought_back(lab: Lab, how: str) -> None:
    """The kernel drops the routes through a VMAC deleted or set down; they come back with it (before:
    the VIPs came back, the routes did not)."""
    p1 = lab.start_vrrptui("r1", conf(150, extra=f"""use_vmac
    virtual_routes {{
        10.9.9.0/24 dev {VMAC_IF}
        src {VIP} to 10.9.8.0/24 dev {VMAC_IF}
    }}"""), ["--log-detail"])
    assert lab.wait_for(lambda: lab.vip_holders(VIP) == ["r1"] and routes_on_vmac(lab), WAIT), lab.log(p1)
    lab.exec("r1", ["ip", "link", "del" if how == "deleted" else "set", VMAC_IF, *([] if how == "deleted" else
                                                                                   ["down"])], check=True)
    assert lab.wait_for(lambda: "state UP" in vmac_link(lab).split("\n", 1)[0] and on_vmac(lab)
                        and routes_on_vmac(lab), WAIT), f"{vmac_routes(lab)}\n{lab.log(p1)}"
    assert f"added route 10.9.9.0/24 dev {VMAC_IF} again" in lab.log(p1)
    assert "cannot add route" not in lab.log(p1)


def test_a_vmac_name_taken_by_another_interface_is_reported_once_not_at_every_link_event(lab: Lab) -> None:
    """A veth took the VMAC's name while the base was gone: one error line per 10 s, not one per link event,
    and the instance stays in FAULT (before: it went BACKUP, then MASTER with its VIP on the veth)."""
    p1 = lab.start_vrrptui("r1", conf(150, extra="use_vmac"), ["--log-detail"])
    assert lab.wait_for(lambda: lab.vip_holders(VIP) == ["r1"], WAIT), lab.log(p1)
    faults.delete_interface(lab, "r1")  # the VMAC goes with its base
    lab.exec("r1", ["ip", "link", "add", VMAC_IF, "type", "veth", "peer", "name", "squatter"], check=True)
    lab.exec("r1", ["ip", "link", "set", VMAC_IF, "up"], check=True)
    faults.create_interface(lab, "r1")
    assert lab.wait_for(lambda: "Netlink reports eth0 up" in lab.log(p1), WAIT), lab.log(p1)
    for _ in range(5):  # each time its peer goes down, the squatter does: a link event for the VMAC's name
        lab.exec("r1", ["ip", "link", "set", "squatter", "up"], check=True)
        lab.exec("r1", ["ip", "link", "set", "squatter", "down"], check=True)
    lab.exec("r1", ["ip", "link", "set", "squatter", "up"], check=True)
    # the squatter's creation and five downs, then six ups
    assert lab.wait_for(lambda: lab.log(p1).count("Netlink reports squatter down") == 6
                        and lab.log(p1).count("Netlink reports squatter up") == 6, WAIT), lab.log(p1)
    time.sleep(1.0)  # over twice Master_Down_Interval
    assert lab.log(p1).count("is not a macvlan") == 1, lab.log(p1)
    # the interface that took the VMAC's name is not the VMAC: the instance stays in FAULT, no VIP on it
    assert lab.log(p1).count("Entering MASTER STATE") == 1, lab.log(p1)
    assert lab.vip_holders(VIP) == [], lab.log(p1)


def test_ipv6_vmac_remade_on_a_base_created_again_gets_a_link_local_and_advertises(lab: Lab) -> None:
    """The base comes back down, with no link-local yet, and its VMAC is made again at once: the VMAC gets
    the link-local the base's MAC gives (keepalived's choice), so its adverts have a source (before: none)."""
    vip6, vmac6 = "2001:db8:1::100", "vrrp6.51"
    p1 = lab.start_vrrptui("r1", conf(150, extra=f"use_vmac {vmac6}").replace(f"{VIP}/24", f"{vip6}/64"),
                           ["--log-detail"])
    assert lab.wait_for(lambda: lab.vip_holders(vip6) == ["r1"], WAIT), lab.log(p1)
    faults.delete_interface(lab, "r1")
    cap = lab.capture(bpf="ip6 proto 112")
    t1 = time.time()
    faults.create_interface(lab, "r1")
    link_local = link_local_from_mac(lab.mac("r1"))
    assert lab.wait_for(lambda: any(a.get("local") == str(link_local) for a in lab._addr_json("r1", vmac6))
                        and lab.vip_holders(vip6) == ["r1"], WAIT), lab.log(p1)
    assert lab.wait_for(lambda: [a for a in cap.adverts() if a.time > t1 and a.src == str(link_local)], WAIT), \
        lab.log(p1)
