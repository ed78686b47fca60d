"""Split brain as a master sees it, on the real kernel: r1 holds the VIP and probes for it.

A router never hears its own kernel's ARP reply, so r1 sees split brain only through the
other owner's answer (r2 holding the same address); r1's own VMAC answering is not split brain.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.netns

VIP = "192.168.1.100"
VMAC = "00:00:5e:00:01:33"  # VRID 51
WATCH = Path(__file__).with_name("vip_watch.py")


def watch(lab, node: str, *args: str) -> dict:
    out = lab.exec(node, [sys.executable, str(WATCH), lab.iface(node), VIP, "1.5", *args], check=True).stdout
    return json.loads(out)


def test_master_sees_split_brain_only_when_another_mac_answers_for_its_vip(make_lab):
    lab = make_lab(routers=("r1", "r2"))
    lab.exec("r1", ["ip", "addr", "add", f"{VIP}/24", "dev", lab.iface("r1")], check=True)
    alone = watch(lab, "r1")
    assert alone["local"] is True and alone["split"] == [] and alone["errors"] == []

    lab.exec("r2", ["ip", "addr", "add", f"{VIP}/24", "dev", lab.iface("r2")], check=True)
    both = watch(lab, "r1")
    assert both["split"] == [lab.mac("r2")] and both["why"] == "here and another MAC answers"
    assert [lab.mac("r2"), None] in both["answers"]


def test_master_on_a_vmac_sees_split_brain_from_the_other_owner_only(make_lab):
    lab = make_lab(routers=("r1", "r2"))
    base = lab.iface("r1")
    for argv in (["ip", "link", "add", "link", base, "name", "vrrp.51", "address", VMAC, "type", "macvlan",
                  "mode", "private"],
                 ["sysctl", "-qw", f"net.ipv4.conf.{base}.arp_ignore=1", f"net.ipv4.conf.{base}.arp_filter=1",
                  "net.ipv4.conf.vrrp/51.arp_ignore=1"],
                 ["ip", "link", "set", "vrrp.51", "up"],
                 ["ip", "addr", "add", f"{VIP}/24", "dev", "vrrp.51"]):
        lab.exec("r1", argv, check=True)
    alone = watch(lab, "r1", VMAC)
    assert alone["local"] is True and alone["split"] == [] and alone["errors"] == []
    # A second owner is still seen from a master that answers from its VMAC.
    lab.exec("r2", ["ip", "addr", "add", f"{VIP}/24", "dev", lab.iface("r2")], check=True)
    both = watch(lab, "r1", VMAC)
    assert both["split"] == [lab.mac("r2")]
