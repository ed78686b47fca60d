"""A reload's clean-up of new instances' VIPs never takes an address a running instance or the router uses.

At start, a configured VIP already on the interface was left by a run that died, and is removed. A reload
ran the same clean-up for the instances it adds: a new instance listing the VIP a running master holds took
it from that master (until the VIP guard put it back), and one whose VIP was the router's own address
deleted it from the interface. Both are left alone now. `ip monitor address` is the witness.
"""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

import pytest
from test_daemon_failover import WAIT

from vrrptui.lab.netns import Lab

pytestmark = pytest.mark.netns

INST = """
vrrp_instance {name} {{
    state BACKUP
    interface eth0
    virtual_router_id {vrid}
    priority {prio}
    advert_int 0.1
    version 3
    virtual_ipaddress {{
        {vip}
    }}
}}
"""
KEPT = INST.format(name="VI_1", vrid=51, prio=150, vip="192.168.1.100/24")


@pytest.mark.parametrize("vip", ["192.168.1.100/24", "192.168.1.11/24"], ids=["held-by-a-master", "own-address"])
def test_a_reload_adding_an_instance_leaves_addresses_in_use_alone(lab: Lab, vip: str) -> None:
    # r2 is master of VRID 56, so r1's new instance stays backup and its clean-up is all that could remove it
    lab.start_vrrptui("r2", INST.format(name="OTHER", vrid=56, prio=200, vip="192.168.1.199/24"))
    p = lab.start_vrrptui("r1", KEPT, ["--log-detail"])
    assert lab.wait_for(lambda: lab.has_vip("r1", "192.168.1.100"), WAIT), lab.log(p)
    time.sleep(0.5)
    mon = lab.popen("r1", ["ip", "-o", "monitor", "address"], stdout=subprocess.PIPE, text=True)
    time.sleep(0.3)
    since = len(lab.log(p))
    Path(p.conf_path).write_text(KEPT + INST.format(name="NEW", vrid=56, prio=50, vip=vip))  # type: ignore[attr-defined]
    p.send_signal(signal.SIGHUP)
    assert lab.wait_for(lambda: "Reload complete" in lab.log(p)[since:], WAIT), lab.log(p)
    time.sleep(1.0)
    mon.terminate()
    address = vip.split("/")[0]
    deleted = [line for line in mon.communicate()[0].splitlines() if line.startswith("Deleted") and address in line]
    assert deleted == [], deleted
    assert "left by an earlier run" not in lab.log(p)[since:], lab.log(p)[since:]
    assert lab.has_vip("r1", address) and lab.has_vip("r1", "192.168.1.11")
