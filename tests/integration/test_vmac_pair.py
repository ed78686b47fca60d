"""Two routers with `use_vmac` on one VRID: the backup hears the master, one router holds the VIP.

The master sends from the virtual MAC, which the backup's own macvlan has too. The kernel hands a
multicast frame whose source is one of a port's own macvlan MACs to that macvlan alone, never to the
base (macvlan private mode): a backup listening on the base only never heard the master, and both
held the VIP. Now a multicast `use_vmac` instance listens on its VMAC (where a peer with a MAC of its
own is heard too), and an advert the base's socket also reads is counted once. VRRPv3 at 0.1 s;
tcpdump on the bridge is the witness of what went on the wire.
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from test_daemon_failover import status

from vrrptui.lab.namespaces import vrrptui_command
from vrrptui.lab.netns import VIP, Lab
from vrrptui.lab.netns import fast_v3_conf as conf

pytestmark = pytest.mark.netns

WAIT = 10.0
VMAC = "00:00:5e:00:01:33"


@pytest.mark.parametrize("master", ["vrrptui", "keepalived"])
def test_a_use_vmac_backup_hears_a_use_vmac_master(lab: Lab, keepalived_ok: str, tcpdump_ok: str, master: str) -> None:
    start = lab.start_vrrptui if master == "vrrptui" else lab.start_keepalived
    p1 = start("r1", conf(150, extra="use_vmac"))
    assert lab.wait_for(lambda: lab.vip_holders(VIP) == ["r1"], WAIT), lab.log(p1)
    cap = lab.capture()
    time.sleep(0.3)
    p2 = lab.start_vrrptui("r2", conf(100, extra="use_vmac"), ["--log-detail"])
    assert lab.wait_for(lambda: "Entering BACKUP STATE" in lab.log(p2), WAIT), lab.log(p2)
    time.sleep(1.5)  # Master_Down_Interval is 0.36 s: a deaf backup would have taken over four times by now
    assert lab.vip_holders(VIP) == ["r1"], lab.log(p2)
    assert "Entering MASTER STATE" not in lab.log(p2), lab.log(p2)
    assert not [line for line in cap.read(["-e"]) if "prio 100" in line], "r2 sent an advert"
    assert [line for line in cap.read(["-e"]) if "prio 150" in line][-1].split()[1] == VMAC
    heard = json.loads(lab.exec("r2", ["ip", "-j", "link", "show", "vrrp.51"]).stdout)[0]
    assert heard["address"] == VMAC
    # each advert counted once, though a peer without the virtual MAC would be read on the base as well
    got = status(lab, "r2", p2)["VI_1"]
    assert got["state"] == "BACKUP", got
    lab.stop(p1)
    assert lab.wait_for(lambda: lab.vip_holders(VIP) == ["r2"], WAIT), lab.log(p2)


def test_an_advert_read_on_the_base_and_the_vmac_counts_once(lab: Lab) -> None:
    """r1 without use_vmac (its own MAC): r2's VMAC and its base both get each advert; r2's received count
    follows r1's sent count, not twice it."""
    p1 = lab.start_vrrptui("r1", conf(150))
    assert lab.wait_for(lambda: lab.vip_holders(VIP) == ["r1"], WAIT), lab.log(p1)
    # a second instance on eth0 without use_vmac keeps a socket on the base open beside the VMAC's
    other = conf(100, vrid=52, name="VI_2").replace(f"{VIP}/24", "192.168.1.201/24")
    p2 = lab.start_vrrptui("r2", conf(100, extra="use_vmac") + other, ["--log-detail"])
    assert lab.wait_for(lambda: "(VI_1) Entering BACKUP STATE" in lab.log(p2), WAIT), lab.log(p2)
    first_r1, first_r2 = status(lab, "r1", p1)["VI_1"], status(lab, "r2", p2)["VI_1"]
    time.sleep(2.0)
    last_r1, last_r2 = status(lab, "r1", p1)["VI_1"], status(lab, "r2", p2)["VI_1"]
    sent = last_r1["counters"]["adverts_sent"] - first_r1["counters"]["adverts_sent"]
    received = last_r2["counters"]["adverts_received"] - first_r2["counters"]["adverts_received"]
    assert sent >= 15 and abs(received - sent) <= 2, (sent, received)
    assert lab.vip_holders(VIP) == ["r1"]


def daemon_status(lab: Lab, node: str, proc: Any) -> dict[str, Any]:
    sock = lab.node_dir(node) / "run" / f"{proc.pid}.sock"
    out = lab.exec(node, [*vrrptui_command(), "status", "--json", "--socket", str(sock)])
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)["daemons"][0]


def test_each_advert_is_read_once_with_several_vmacs(lab: Lab) -> None:
    """r1 without use_vmac (its own MAC) on VRIDs 51-53 and 60; r2 with a VMAC each on 51-53 and no 60. The
    kernel gives every VMAC (and the base) a copy of each advert: each instance counts r1's adverts once, and
    VRID 60, configured nowhere on r2, is counted once as such."""
    def r1_conf(vrid: int) -> str:
        return conf(150, vrid=vrid, name=f"VI_{vrid}").replace(f"{VIP}/24", f"192.168.1.{vrid + 100}/24")

    p1 = lab.start_vrrptui("r1", "".join(r1_conf(v) for v in (51, 52, 53, 60)))
    assert lab.wait_for(lambda: lab.vip_holders("192.168.1.160") == ["r1"], WAIT), lab.log(p1)
    p2 = lab.start_vrrptui("r2", "".join(r1_conf(v).replace("priority 150", "priority 100")
                                         .replace("version 3", "version 3\n    use_vmac") for v in (51, 52, 53)))
    assert lab.wait_for(lambda: lab.log(p2).count("Entering BACKUP STATE") == 3, WAIT), lab.log(p2)
    first_r1, first_r2 = daemon_status(lab, "r1", p1), daemon_status(lab, "r2", p2)
    time.sleep(2.0)
    last_r1, last_r2 = daemon_status(lab, "r1", p1), daemon_status(lab, "r2", p2)

    def count(d: dict[str, Any], name: str, what: str) -> int:
        return next(i["counters"][what] for i in d["instances"] if i["name"] == name)

    sent = count(last_r1, "VI_51", "adverts_sent") - count(first_r1, "VI_51", "adverts_sent")
    assert sent >= 15
    for vrid in (51, 52, 53):
        received = count(last_r2, f"VI_{vrid}", "adverts_received") - count(first_r2, f"VI_{vrid}", "adverts_received")
        assert abs(received - sent) <= 2, (vrid, sent, received)
    unknown = sum(last_r2["unclaimed_drops"].values()) - sum(first_r2["unclaimed_drops"].values())
    assert abs(unknown - sent) <= 2, (sent, last_r2["unclaimed_drops"])
    assert lab.vip_holders("192.168.1.151") == ["r1"] and lab.vip_holders("192.168.1.153") == ["r1"]


@pytest.mark.parametrize("backup", ["vrrptui", "keepalived"])
def test_unicast_use_vmac_adverts_leave_from_the_base(lab: Lab, keepalived_ok: str, tcpdump_ok: str,
                                                       backup: str) -> None:
    """Unicast with use_vmac (no vmac_xmit_base): sent from the VMAC, the ARP for the peer came from the virtual
    MAC, which the peer's own macvlan took, so no advert ever left and both routers were master. keepalived
    sends unicast adverts from the base; so does vrrptui now."""
    def uni(me: str, peer: str, priority: int) -> str:
        return conf(priority, extra=f"use_vmac\n    unicast_src_ip {me}\n    unicast_peer {{\n        {peer}\n    }}")

    cap = lab.capture()
    time.sleep(0.3)
    p1 = lab.start_vrrptui("r1", uni("192.168.1.11", "192.168.1.12", 150))
    start = lab.start_vrrptui if backup == "vrrptui" else lab.start_keepalived
    p2 = start("r2", uni("192.168.1.12", "192.168.1.11", 100))
    assert lab.wait_for(lambda: "Entering BACKUP STATE" in lab.log(p2), WAIT), lab.log(p2)
    time.sleep(1.5)
    assert lab.vip_holders(VIP) == ["r1"], lab.log(p1) + lab.log(p2)
    sent = [line for line in cap.read(["-e"]) if "192.168.1.11 > 192.168.1.12: VRRPv3" in line]
    assert sent and all(line.split()[1] != VMAC for line in sent), sent[-3:]
