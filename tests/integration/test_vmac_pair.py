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

import pytest
from test_daemon_failover import status

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
