"""Host network events on an IPv6 master behave as on IPv4: the VIP stays on exactly one router.

r1 (priority 150) vrrptui, r2 (100) keepalived 2.2.7 as the peer, VRRPv3 at 0.1 s with an IPv6
VIP, multicast (ff02::12) or unicast. tcpdump on the bridge is the witness of the unsolicited
NAs and the adverts. Before: a master whose link-local address was deleted could not send its
priority-0 advert (EINVAL), so the backup waited for Master_Down_Interval instead of Skew_Time.
"""

from __future__ import annotations

import subprocess
import time
from typing import Any

import pytest

from vrrptui.lab import faults
from vrrptui.lab.netns import Lab

pytestmark = pytest.mark.netns

WAIT = 10.0  # bounds a hang only; speed is in benchmarks/faults.py
VIP6 = "2001:db8:1::100"


def conf(lab: Lab, node: str, priority: int, unicast: bool = False, peer_options: str = "") -> str:
    peer = "r2" if node == "r1" else "r1"
    uni = (f"unicast_src_ip {lab.ip6(node)}\n    unicast_peer {{\n        {lab.ip6(peer)} {peer_options}\n    }}"
           if unicast else "")
    return f"""
vrrp_instance VI_6 {{
    state BACKUP
    interface eth0
    virtual_router_id 52
    priority {priority}
    advert_int 0.1
    version 3
    {uni}
    virtual_ipaddress {{
        {VIP6}/64
    }}
}}
"""


def pair(lab: Lab, unicast: bool = False) -> tuple[subprocess.Popen[Any], subprocess.Popen[Any]]:
    p1 = lab.start_vrrptui("r1", conf(lab, "r1", 150, unicast), ["--log-detail"])
    assert lab.wait_for(lambda: lab.vip_holders(VIP6) == ["r1"], WAIT), lab.log(p1)
    p2 = lab.start_keepalived("r2", conf(lab, "r2", 100, unicast))
    assert lab.wait_for(lambda: "Entering BACKUP STATE" in lab.log(p2), WAIT), lab.log(p2)
    return p1, p2


def logs(lab: Lab, *procs: subprocess.Popen[Any]) -> str:
    return "\n".join(f"--- {p.node} ---\n{lab.log(p)}" for p in procs)  # type: ignore[attr-defined]


@pytest.mark.parametrize("unicast", [False, True], ids=["multicast", "unicast"])
def test_ipv6_vip_deleted_by_hand_is_put_back_and_announced_with_unsolicited_na(
        lab: Lab, keepalived_ok: str, tcpdump_ok: str, unicast: bool) -> None:
    p1, p2 = pair(lab, unicast)
    cap = lab.capture(bpf="icmp6")
    deleted_at = time.time()
    lab.exec("r1", ["ip", "addr", "del", f"{VIP6}/64", "dev", "eth0"], check=True)
    assert lab.wait_for(lambda: lab.vip_holders(VIP6) == ["r1"], WAIT), logs(lab, p1, p2)

    def nas_since() -> list[str]:  # unsolicited: to all nodes, override flag, for the VIP, from r1
        return [line for line in cap.read(["-e", "-v"]) if float(line.split()[0]) > deleted_at
                and line.split()[1] == lab.mac("r1") and "> ff02::1:" in line
                and f"neighbor advertisement, length 32, tgt is {VIP6}" in line and "Flags [override]" in line]

    assert lab.wait_for(nas_since, WAIT), cap.read(["-e", "-v"])
    time.sleep(0.5)
    assert lab.vip_holders(VIP6) == ["r1"]
    assert "Entering MASTER STATE" not in lab.log(p2), logs(lab, p1, p2)  # no election was needed
    assert lab.log(p1).count("Entering MASTER STATE") == 1


def test_ipv6_link_local_deleted_resigns_from_it_and_comes_back(lab: Lab, keepalived_ok: str,
                                                               tcpdump_ok: str) -> None:
    p1, p2 = pair(lab)
    link_local = lab.link_local("r1")
    assert link_local is not None
    cap = lab.capture(bpf="ip6 proto 112")
    lab.exec("r1", ["ip", "addr", "del", f"{link_local}/64", "dev", "eth0"], check=True)
    assert lab.wait_for(lambda: lab.vip_holders(VIP6) == ["r2"], WAIT), logs(lab, p1, p2)
    # the priority-0 advert still leaves from the address just deleted (IPV6_TRANSPARENT)
    assert lab.wait_for(lambda: any(a.src == link_local and a.priority == 0 for a in cap.adverts()), WAIT), \
        cap.read()
    assert "(VI_6) Entering FAULT STATE" in lab.log(p1)
    lab.exec("r1", ["ip", "addr", "add", f"{link_local}/64", "dev", "eth0"], check=True)
    assert lab.wait_for(lambda: lab.vip_holders(VIP6) == ["r1"], WAIT), logs(lab, p1, p2)
    assert lab.wait_for(lambda: "Entering BACKUP STATE" in lab.log(p2).rsplit("Entering MASTER STATE", 1)[1], WAIT)


def test_ipv6_interface_deleted_and_recreated_ends_with_one_holder(lab: Lab, keepalived_ok: str) -> None:
    p1, p2 = pair(lab)
    faults.delete_interface(lab, "r1")
    assert lab.wait_for(lambda: lab.vip_holders(VIP6) == ["r2"], WAIT), logs(lab, p1, p2)
    faults.create_interface(lab, "r1")
    assert lab.wait_for(lambda: "eth0 created again: reopening its VRRP sockets" in lab.log(p1), WAIT)
    assert lab.wait_for(lambda: lab.vip_holders(VIP6) == ["r1"], WAIT), logs(lab, p1, p2)
    assert lab.wait_for(lambda: "Entering BACKUP STATE" in lab.log(p2).rsplit("Entering MASTER STATE", 1)[1], WAIT)
    time.sleep(1.0)  # and it stays so
    assert lab.vip_holders(VIP6) == ["r1"], logs(lab, p1, p2)


def test_keepalived_ipv6_unicast_master_with_hop_limit_64_is_heard_through_min_ttl(lab: Lab, keepalived_ok: str,
                                                                                  tcpdump_ok: str) -> None:
    # keepalived 2.2.7 sends IPv6 unicast adverts with hop limit 64 (unless `unicast_ttl 255`); RFC 5798 7.1
    # drops them, keepalived's `min_ttl` on that peer admits them
    cap = lab.capture(bpf="ip6 proto 112")
    ka = lab.start_keepalived("r1", conf(lab, "r1", 150, unicast=True))
    assert lab.wait_for(lambda: lab.vip_holders(VIP6) == ["r1"], WAIT), lab.log(ka)
    p2 = lab.start_vrrptui("r2", conf(lab, "r2", 100, unicast=True, peer_options="min_ttl 64"), ["--log-detail"])
    assert lab.wait_for(lambda: "Entering BACKUP STATE" in lab.log(p2), WAIT), lab.log(p2)
    time.sleep(1.0)
    assert any(f"{lab.ip6('r1')} > {lab.ip6('r2')}: VRRPv3, Advertisement, (ttl 64)" in line
               for line in cap.read()), cap.read()
    assert lab.vip_holders(VIP6) == ["r1"], logs(lab, ka, p2)
    assert "Entering MASTER STATE" not in lab.log(p2) and "invalid TTL/HL" not in lab.log(p2)


def test_keepalived_ipv6_unicast_peer_without_min_ttl_is_dropped_with_the_fix_named(lab: Lab,
                                                                                  keepalived_ok: str) -> None:
    # RFC 5798 7.1 stays the default; the drop names the configuration line that admits the peer
    ka = lab.start_keepalived("r1", conf(lab, "r1", 150, unicast=True))
    assert lab.wait_for(lambda: lab.vip_holders(VIP6) == ["r1"], WAIT), lab.log(ka)
    p2 = lab.start_vrrptui("r2", conf(lab, "r2", 100, unicast=True), ["--log-detail"])
    hint = f"invalid TTL/HL from {lab.ip6('r1')} (unicast). Received 64 and expect 255 (if {lab.ip6('r1')} runs" \
           " keepalived, add `min_ttl 64` to its unicast_peer line here"
    assert lab.wait_for(lambda: hint in lab.log(p2), WAIT), lab.log(p2)


def test_a_backup_whose_mtu_went_below_1280_and_back_joins_ff02_12_again(lab: Lab) -> None:
    # The MTU below 1280 destroys the interface's IPv6 state, group memberships included, and no link event
    # says so: the backup (vrrptui, as keepalived 2.2.7 in the same setup) heard nothing after and both held
    # the VIP for good. Now it joins again when the link-local comes back.
    p1 = lab.start_vrrptui("r1", conf(lab, "r1", 150), ["--log-detail"])
    assert lab.wait_for(lambda: lab.vip_holders(VIP6) == ["r1"], WAIT), lab.log(p1)
    p2 = lab.start_vrrptui("r2", conf(lab, "r2", 100), ["--log-detail"])
    assert lab.wait_for(lambda: "Entering BACKUP STATE" in lab.log(p2), WAIT), lab.log(p2)
    lab.exec("r2", ["ip", "link", "set", "eth0", "mtu", "1200"])
    assert lab.wait_for(lambda: "Entering FAULT STATE" in lab.log(p2), WAIT), logs(lab, p1, p2)
    lab.exec("r2", ["ip", "link", "set", "eth0", "mtu", "1500"])
    lab.exec("r2", ["ip", "addr", "add", f"{lab.ip6('r2')}/64", "dev", "eth0", "nodad"])
    assert lab.wait_for(lambda: "joined it again" in lab.log(p2), WAIT), logs(lab, p1, p2)
    assert lab.wait_for(lambda: "ff02::12" in lab.exec("r2", ["ip", "-6", "maddr", "show", "dev", "eth0"]).stdout,
                        WAIT)
    time.sleep(1.0)  # ten advert intervals after its timer would have run out: r2 hears r1
    assert lab.vip_holders(VIP6) == ["r1"], logs(lab, p1, p2)
    assert "Entering MASTER STATE" not in lab.log(p2), logs(lab, p1, p2)
