"""An address coming back starts the Master_Down_Timer when netlink says so, not after the runtime read it.

The runtime reads the interface's primary with one address dump after an address event. On a busy
host that dump can take a while; the instance's BACKUP (and so its Master_Down_Timer, and its
takeover) must be dated when the kernel's RTM_NEWADDR arrived, as keepalived dates it. Before, the
runtime dated it after the dump: in the fault benchmark an IPv6 master whose link-local address came
back became master again 1.9 ms after keepalived did (0.3473 s against 0.3454, 4 runs each), and
level with it once dated at the event.

The runtime runs in a worker thread inside r1's namespace (alone on the segment, so it becomes
MASTER), with a Netlink whose address dumps take DUMP_DELAY once the test says so: the real one
answers every call.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from net_helpers import runtime_in

from vrrptui.config.parser import parse_config
from vrrptui.daemon import runtime as runtime_module
from vrrptui.daemon.runtime import Runtime
from vrrptui.engine.outputs import LogLine
from vrrptui.lab import faults
from vrrptui.lab.netns import Lab, fast_v3_conf
from vrrptui.net.netlink import InterfaceAddress, Netlink

pytestmark = pytest.mark.netns

WAIT = 10.0
DUMP_DELAY = 0.2  # s: under Master_Down_Interval (the takeover must still be due after the dump)
MASTER_DOWN = 3 * 0.1 + (256 - 150) / 256 * 0.1  # priority 150, VRRPv3 0.1 s


class SlowNetlink(Netlink):
    slow = False

    def interface_addresses(self, ifname: str, index: int | None = None) -> list[InterfaceAddress] | None:
        if SlowNetlink.slow:
            time.sleep(DUMP_DELAY)
        return super().interface_addresses(ifname, index)

    def primary_address(self, ifname: str, family: int, exclude: Any = ()) -> Any:
        if SlowNetlink.slow:
            time.sleep(DUMP_DELAY)
        return super().primary_address(ifname, family, exclude)


def state(rt: Runtime) -> tuple[str, float]:
    (status,) = rt.status().result(WAIT)
    return status.state, status.state_since


def test_the_address_back_dates_backup_and_the_takeover_at_the_netlink_event(
        lab: Lab, monkeypatch: pytest.MonkeyPatch) -> None:
    SlowNetlink.slow = False
    monkeypatch.setattr(runtime_module, "Netlink", SlowNetlink)
    path = lab.node_dir("r1") / "slowdump.conf"
    path.write_text(fast_v3_conf(150))
    lines: list[LogLine] = []
    rt = Runtime(parse_config(str(path), check_interfaces=False), log=lines.append, control_path=None)
    with runtime_in(lab.ns("r1"), rt, WAIT):
        assert lab.wait_for(lambda: state(rt)[0] == "MASTER", WAIT)
        faults.delete_primary(lab, "r1")
        assert lab.wait_for(lambda: state(rt)[0] == "FAULT", WAIT)
        SlowNetlink.slow = True
        before = time.monotonic()
        faults.restore_primary(lab, "r1")
        after = time.monotonic()  # the kernel sent RTM_NEWADDR before `ip` returned
        assert lab.wait_for(lambda: state(rt)[0] == "MASTER", WAIT)
        _, master_since = state(rt)
    # the takeover is Master_Down_Interval after the event, not after the slow dump that followed it
    # (dated after the dump, it came DUMP_DELAY later)
    assert before + MASTER_DOWN - 0.002 <= master_since < after + MASTER_DOWN + DUMP_DELAY / 2
