"""Address events cost the runtime no netlink round trips when they are its own VIPs.

Every takeover adds VIPs and the kernel echoes each one back as RTM_NEWADDR (and removal
as RTM_DELADDR); a VIP is never an interface's primary address, so the runtime must not
dump the interface's addresses for them. Any other address change costs one dump of
that interface, however many instances send from it.

The runtime runs in a worker thread inside r1's namespace (as the console hosts it), with
a Netlink that counts its own address dumps: a wrapper around the real one, the kernel
answers every call.
"""

from __future__ import annotations

from typing import Any

import pytest
from net_helpers import runtime_in

from vrrptui.engine.commands import Demote, Resume
from vrrptui.config.parser import parse_config
from vrrptui.daemon import runtime as runtime_module
from vrrptui.daemon.runtime import Runtime
from vrrptui.engine.outputs import LogLine
from vrrptui.lab.netns import Lab
from vrrptui.net.netlink import InterfaceAddress, Netlink

pytestmark = pytest.mark.netns

WAIT = 10.0
INSTANCES = 5


class CountingNetlink(Netlink):
    """The real Netlink, counting the address dumps it makes (and which interfaces they read)."""

    dumps: list[str | None] = []

    def interface_addresses(self, ifname: str, index: int | None = None) -> list[InterfaceAddress] | None:
        CountingNetlink.dumps.append(ifname)
        return super().interface_addresses(ifname, index)

    def primary_address(self, ifname: str, family: int, exclude: Any = ()) -> Any:
        CountingNetlink.dumps.append(ifname)
        return super().primary_address(ifname, family, exclude)


def conf() -> str:
    # /32 VIPs: primaries in the kernel's sense (not secondaries of eth0's /24), the case to tell apart
    return "global_defs {\n    vrrp_version 3\n}\n" + "".join(
        f"vrrp_instance VI_{vrid} {{\n    state BACKUP\n    interface eth0\n    virtual_router_id {vrid}\n"
        f"    priority 150\n    advert_int 0.1\n    virtual_ipaddress {{\n        10.10.{vrid}.1/32\n    }}\n}}\n"
        for vrid in range(1, INSTANCES + 1)
    )



@pytest.fixture
def counted(lab: Lab, monkeypatch: pytest.MonkeyPatch):
    """A runtime in r1 (alone on the segment, so every instance becomes MASTER) using CountingNetlink."""
    CountingNetlink.dumps = []
    monkeypatch.setattr(runtime_module, "Netlink", CountingNetlink)
    path = lab.node_dir("r1") / "counted.conf"
    path.write_text(conf())
    lines: list[LogLine] = []
    rt = Runtime(parse_config(str(path), check_interfaces=False), log=lines.append, control_path=None)
    with runtime_in(lab.ns("r1"), rt, WAIT):
        yield rt, lines


def masters(rt: Runtime) -> int:
    return sum(s.state == "MASTER" for s in rt.status().result(WAIT))


def test_own_vip_events_cost_no_dump_and_another_address_costs_one(lab: Lab, counted: tuple[Runtime, list[LogLine]]
                                                                    ) -> None:
    rt, lines = counted
    vips = {f"10.10.{vrid}.1" for vrid in range(1, INSTANCES + 1)}
    assert CountingNetlink.dumps == ["eth0"], "startup: one dump for the one interface, not one per instance"
    assert lab.wait_for(lambda: masters(rt) == INSTANCES and vips <= lab.addresses("r1"), WAIT)
    # demote one and resume it: its VIP goes (RTM_DELADDR) and comes back (RTM_NEWADDR)
    rt.command(Demote("VI_1")).result(WAIT)
    assert lab.wait_for(lambda: "10.10.1.1" not in lab.addresses("r1"), WAIT)
    rt.command(Resume("VI_1")).result(WAIT)
    assert lab.wait_for(lambda: masters(rt) == INSTANCES and vips <= lab.addresses("r1"), WAIT)

    # a secondary in eth0's subnet: not a VIP, so one dump of eth0; it changes no primary.
    # The kernel delivers address events in order, so once this one is handled all the VIP
    # events above have been too.
    lab.exec("r1", ["ip", "addr", "add", "192.168.1.50/24", "dev", lab.iface("r1")], check=True)
    assert lab.wait_for(lambda: len(CountingNetlink.dumps) >= 2, WAIT)
    rt.status().result(WAIT)  # one more loop iteration: a second dump would have happened by now
    assert CountingNetlink.dumps == ["eth0", "eth0"]
    assert {str(s.primary_address) for s in rt.status().result(WAIT)} == {lab.ip4("r1")}
    assert not [line for line in lines if "Assigned address" in line.text]
