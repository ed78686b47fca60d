"""tcpdump on the bridge as the witness of what vrrptui puts on the wire.

The adverts carry TTL / hop limit 255, the configured interval, priority and VIPs, and
tcpdump finds no checksum error; with use_vmac the VIP is answered from
00:00:5e:00:01:VRID and the VMAC is gone after a clean exit.
"""

from __future__ import annotations

import re
import signal
import subprocess
from typing import Any

import pytest

from vrrptui.lab.netns import Lab

pytestmark = pytest.mark.netns

WAIT = 10.0


def instance(body: str, vips: str, priority: int = 150, vrid: int = 51) -> str:
    return f"""
vrrp_instance VI_1 {{
    state BACKUP
    interface eth0
    virtual_router_id {vrid}
    priority {priority}
{body}
    virtual_ipaddress {{
        {vips}
    }}
}}
"""


def adverts_vv(cap: Any) -> list[str]:
    return [line for line in cap.read(["-vv"]) if "VRRP" in line and "Advertisement" in line]


def run_until_master(lab: Lab, conf: str, vip: str) -> subprocess.Popen[Any]:
    proc = lab.start_vrrptui("r1", conf)
    assert lab.wait_for(lambda: lab.vip_holders(vip) == ["r1"], WAIT), lab.log(proc)
    return proc


CASES = {
    "v3-ipv4": (
        "    version 3\n    advert_int 0.1\n",
        "192.168.1.100/24\n        192.168.1.101/24",
        "192.168.1.100",
        r"IP \(tos 0xc0, ttl 255,.*192\.168\.1\.11 > 224\.0\.0\.18: VRRPv3, Advertisement, vrid 51, prio 150, "
        r"intvl 10cs, length 16, addrs\(2\): 192\.168\.1\.100,192\.168\.1\.101",
    ),
    "v3-ipv6": (
        "    version 3\n    advert_int 0.05\n",
        "2001:db8:1::100/64",
        "2001:db8:1::100",
        r"IP6 \(class 0xc0, (flowlabel 0x[0-9a-f]+, )?hlim 255,.*fe80::[0-9a-f:]+ > ff02::12: "
        r"VRRPv3, Advertisement, vrid 51, prio 150, "
        r"intvl 5cs, length 24, addrs: 2001:db8:1::100",
    ),
    "v2-pass": (
        "    advert_int 1\n    authentication {\n        auth_type PASS\n        auth_pass s3cret\n    }\n",
        "192.168.1.100/24",
        "192.168.1.100",
        r"IP \(tos 0xc0, ttl 255,.*192\.168\.1\.11 > 224\.0\.0\.18: VRRPv2, Advertisement, vrid 51, prio 150, "
        r"authtype simple, intvl 1s, length 20, addrs: 192\.168\.1\.100 auth \"s3cret\"",
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_adverts_carry_ttl_255_interval_priority_and_vips_with_good_checksums(
    make_lab, tcpdump_ok: str, case: str
) -> None:
    lab: Lab = make_lab(routers=("r1",))
    body, vips, vip, pattern = CASES[case]
    cap = lab.capture(bpf="ip proto 112 or ip6 proto 112")
    proc = run_until_master(lab, instance(body, vips), vip)
    assert lab.wait_for(lambda: len(adverts_vv(cap)) >= 2, WAIT)
    lab.stop(proc, signal.SIGTERM)
    lines = adverts_vv(cap)
    ours = [line for line in lines if ", prio 150," in line]
    assert ours, lines
    for line in ours:
        assert re.search(pattern, line), line
    assert not [line for line in lines if "bad vrrp cksum" in line or "(ttl " in line.split("VRRP")[-1]], lines
    # the resignation on SIGTERM is a well-formed advert too
    assert any(", prio 0," in line and re.search(pattern.replace("prio 150", "prio 0"), line) for line in lines), lines


def test_use_vmac_vip_is_answered_from_the_virtual_mac(make_lab, tcpdump_ok: str) -> None:
    lab: Lab = make_lab(routers=("r1",))
    body = "    version 3\n    advert_int 0.1\n    use_vmac\n"
    # a router knows its clients: otherwise its own ARP for pc1, sent from the base interface with the
    # VIP as sender, can repoint pc1's entry for the VIP until the next GARP (keepalived alike)
    assert lab.exec("r1", ["ping", "-c", "1", "-W", "1", lab.ip4("pc1")]).returncode == 0
    cap = lab.capture(bpf="vrrp or arp")
    proc = run_until_master(lab, instance(body, "192.168.1.100/24"), "192.168.1.100")
    ping = lab.exec("pc1", ["ping", "-c", "2", "-i", "0.2", "-W", "1", "192.168.1.100"])
    assert ping.returncode == 0, ping.stdout + lab.log(proc)
    neigh = {n["dst"]: n.get("lladdr") for n in lab.neigh("pc1")}
    assert neigh.get("192.168.1.100") == "00:00:5e:00:01:33"
    frames = cap.read(["-e"])
    arp_replies = [f for f in frames if "ARP" in f and "Reply 192.168.1.100 is-at" in f]
    assert arp_replies and all(f.startswith(tuple("0123456789")) and "00:00:5e:00:01:33 >" in f for f in arp_replies), (
        frames
    )
    adverts = [f for f in frames if "VRRPv3" in f and "prio 150" in f]
    assert adverts and all("00:00:5e:00:01:33 > 01:00:5e:00:00:12" in f for f in adverts), adverts
    assert lab.stop(proc, signal.SIGTERM) == 0
    links = lab.exec("r1", ["ip", "-o", "link", "show"]).stdout
    assert "vrrp.51" not in links


def test_adverts_follow_a_new_primary_address_of_the_interface(make_lab, tcpdump_ok: str) -> None:
    lab: Lab = make_lab(routers=("r1",))
    cap = lab.capture(bpf="ip proto 112")
    # a /32 VIP: not a secondary of 192.168.1.11/24, so the kernel keeps it when that address goes
    proc = run_until_master(lab, instance("    version 3\n    advert_int 0.1\n", "192.168.1.100/32"), "192.168.1.100")
    assert lab.wait_for(lambda: any(a.src == "192.168.1.11" for a in cap.adverts()), WAIT)
    # a second subnet, then the original address goes: 10.9.9.1 is the interface's primary now
    lab.exec("r1", ["ip", "addr", "add", "10.9.9.1/24", "dev", lab.iface("r1")], check=True)
    lab.exec("r1", ["ip", "addr", "del", "192.168.1.11/24", "dev", lab.iface("r1")], check=True)
    assert lab.wait_for(lambda: any(a.src == "10.9.9.1" for a in cap.adverts()), WAIT), lab.log(proc)
    assert "(VI_1) source address changed from 192.168.1.11 to 10.9.9.1" in lab.log(proc)
    # never from the VIP (it is on the interface too, but it is not the interface's own address)
    assert {a.src for a in cap.adverts()} == {"192.168.1.11", "10.9.9.1"}
    assert lab.vip_holders("192.168.1.100") == ["r1"]
    lab.stop(proc, signal.SIGTERM)
    assert any(a.src == "10.9.9.1" and a.priority == 0 for a in cap.adverts()), cap.adverts()
