"""The namespace lab itself: it builds a working segment and leaves nothing behind."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time

import pytest

from vrrptui.lab.faults import AddressWatch
from vrrptui.lab.netns import Lab, LabError, list_namespaces, namespace_pids

pytestmark = pytest.mark.netns

VIP = "192.168.1.100"


def keepalived_conf(router_id: str, priority: int) -> str:
    return f"""
global_defs {{
    router_id {router_id}
    vrrp_version 3
}}
vrrp_instance VI_1 {{
    state BACKUP
    interface eth0
    virtual_router_id 51
    priority {priority}
    advert_int 0.1
    virtual_ipaddress {{
        {VIP}/24
    }}
}}
"""


def last_state(log: str) -> str | None:
    states = re.findall(r"\(VI_1\) Entering (\w+) STATE", log)
    return states[-1] if states else None


def test_down_leaves_no_namespace_and_no_process(netns_ok: None) -> None:
    lab = Lab(routers=("r1", "r2"))
    namespaces = lab.namespaces
    assert set(namespaces) <= set(list_namespaces())
    sleeper = lab.popen("r1", ["sleep", "300"])
    # A process the lab did not track (started behind its back) must go too.
    stray = subprocess.Popen(["ip", "netns", "exec", lab.ns("r2"), "sleep", "300"])
    assert lab.wait_for(lambda: stray.pid in namespace_pids(lab.ns("r2")), 5)
    lab.down()
    assert not set(namespaces) & set(list_namespaces())
    assert sleeper.poll() is not None
    assert stray.wait(timeout=5) == -signal.SIGTERM
    lab.down()  # idempotent


def test_names_are_unique_and_prefixed(make_lab) -> None:
    a, b = make_lab(), make_lab()
    assert not set(a.namespaces) & set(b.namespaces)
    assert all(ns.startswith("vrrptui-") for ns in a.namespaces + b.namespaces)


def test_refuses_namespace_without_prefix(netns_ok: None) -> None:
    with pytest.raises(LabError, match="must start with"):
        Lab(fixed_names={"bridge": "dent1"})


def test_routers_ping_each_other_over_ipv4_and_ipv6(lab: Lab) -> None:
    assert lab.addresses("r1") >= {"192.168.1.11", "2001:db8:1::11"}
    assert lab.has_vip("r2", "192.168.1.12/24")
    assert lab.link_local("r2").startswith("fe80::")
    assert lab.exec("r1", ["ping", "-c", "1", "-W", "2", "192.168.1.12"]).returncode == 0
    assert lab.exec("r1", ["ping", "-c", "1", "-W", "2", "2001:db8:1::12"]).returncode == 0
    # Link-local works at once too: DAD is off in the lab.
    assert lab.exec("pc1", ["ping", "-c", "1", "-W", "2", f"{lab.link_local('r1')}%eth0"]).returncode == 0
    assert any(n["dst"] == "192.168.1.12" for n in lab.neigh("r1"))


def test_cut_breaks_and_heal_restores_connectivity(lab: Lab) -> None:
    pinger = lab.pinger("pc1", "192.168.1.11", interval=0.01)
    assert lab.wait_for(lambda: len(pinger.replies) >= 5, 5)
    lab.cut("r1")
    cut_at = time.time()
    assert lab.exec("pc1", ["ping", "-c", "1", "-W", "1", "192.168.1.11"]).returncode != 0
    assert lab.exec("r2", ["ping", "-c", "1", "-W", "1", "192.168.1.12"]).returncode == 0
    lab.heal("r1")
    healed_at = time.time()
    assert lab.wait_for(lambda: pinger.replies_since(healed_at) >= 5, 5)
    pinger.stop()
    # The client saw one gap that spans the cut.
    assert pinger.outage() >= healed_at - cut_at
    assert pinger.outage(end=cut_at) < healed_at - cut_at


def test_capture_on_bridge_sees_pings(lab: Lab, tcpdump_ok: str) -> None:
    cap = lab.capture(bpf="icmp")
    assert lab.exec("pc1", ["ping", "-c", "3", "-i", "0.05", "192.168.1.12"]).returncode == 0
    cap.stop()
    lines = cap.read()
    requests = [line for line in lines if "192.168.1.2 > 192.168.1.12: ICMP echo request" in line]
    replies = [line for line in lines if "192.168.1.12 > 192.168.1.2: ICMP echo reply" in line]
    assert len(requests) == 3 and len(replies) == 3
    assert all(" ttl 64," in line for line in cap.read(["-v"]) if "echo request" in line)


@pytest.mark.keepalived
def test_two_keepalived_elect_one_master_and_the_vip_is_on_it(lab: Lab, keepalived_ok: str, tcpdump_ok: str) -> None:
    cap = lab.capture()
    high = lab.start_keepalived("r1", keepalived_conf("r1", 110))
    low = lab.start_keepalived("r2", keepalived_conf("r2", 100))
    assert lab.wait_for(lambda: lab.vip_holders(VIP) == ["r1"], 10), (lab.log(high), lab.log(low))
    # Stays that way across several advert intervals: one master, one VIP holder.
    time.sleep(0.5)
    assert lab.vip_holders(VIP) == ["r1"]
    # Both may be master for a moment at start-up (their down timers race); r2 must end as backup.
    assert last_state(lab.log(high)) == "MASTER"
    assert last_state(lab.log(low)) == "BACKUP"
    # Graceful stop: priority 0, then r2 takes the VIP.
    assert lab.stop(high) == 0
    assert lab.wait_for(lambda: lab.vip_holders(VIP) == ["r2"], 10), lab.log(low)
    assert lab.wait_for(lambda: any(a.src == "192.168.1.12" for a in cap.adverts()), 5)
    cap.stop()
    adverts = cap.adverts()
    sources = {a.src for a in adverts if a.priority > 0}
    assert sources == {"192.168.1.11", "192.168.1.12"}
    assert all(a.version == 3 and a.vrid == 51 and a.interval == 0.1 for a in adverts)
    resign = [a for a in adverts if a.priority == 0]
    assert [a.src for a in resign] == ["192.168.1.11"]
    # r2 may have sent a few adverts during the start-up race; after the resign it sends again.
    first_r2 = next(a for a in adverts if a.src == "192.168.1.12" and a.time > resign[0].time)
    assert first_r2.priority == 100
    assert all(" ttl 255," in line for line in cap.read(["-v"]) if "VRRPv3" in line)
    assert os.path.exists(high.log_path)


def test_address_monitors_run_at_a_real_time_priority(lab: Lab) -> None:
    # they stamp what they read when they read it: the daemon under test must not make them wait for the CPU
    watch = AddressWatch(lab)
    assert len(watch.monitors) == len(lab.routers)
    assert all(os.sched_getscheduler(p.pid) == os.SCHED_FIFO for p in watch.monitors)
