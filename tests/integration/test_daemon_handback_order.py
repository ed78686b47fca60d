"""A hand-back's order on both sides, with the real runtime in r1's namespace.

New master: its VIPs go up, then its first advert (the old master lets go on it), and only
then the VIPs' virtual routes and bookkeeping. Old master hearing a higher priority: its
VIPs go first, before its own advert. Both windows are where two routers hold the VIP, so
nothing else sits in them.
"""

from __future__ import annotations

from typing import Any

import pytest
from net_helpers import runtime_in

from vrrptui.config.parser import parse_config
from vrrptui.daemon.host import HostChanges
from vrrptui.daemon.runtime import Runtime
from vrrptui.engine.outputs import LogLine
from vrrptui.lab.netns import VIP, Lab
from vrrptui.lab.netns import fast_v3_conf as conf
from vrrptui.net.netlink import Netlink
from vrrptui.net.sockets import VrrpSocket

pytestmark = pytest.mark.netns

WAIT = 10.0


def test_vips_then_advert_then_the_rest_and_the_old_master_lets_go_first(lab: Lab,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []

    def spy(cls: Any, name: str, label: Any) -> None:
        real = getattr(cls, name)

        def wrapper(self: Any, *args: Any, **kw: Any) -> Any:
            calls.append(label(*args) if callable(label) else label)
            return real(self, *args, **kw)
        monkeypatch.setattr(cls, name, wrapper)

    spy(Netlink, "add_vip", "add VIP")
    spy(Netlink, "remove_vip", "remove VIP")
    spy(HostChanges, "vips_added", "routes, journal")
    spy(VrrpSocket, "send", lambda payload, *_: f"advert {payload[2]}")
    path = lab.node_dir("r1") / "order.conf"
    path.write_text(conf(150, extra="virtual_routes {\n    10.77.0.0/16 via 192.168.1.2\n}"))
    lines: list[LogLine] = []
    rt = Runtime(parse_config(str(path), check_interfaces=False), log=lines.append, control_path=None)
    with runtime_in(lab.ns("r1"), rt, WAIT):
        assert lab.wait_for(lambda: lab.vip_holders(VIP) == ["r1"] and "routes, journal" in calls, WAIT), lines
        first = calls.index("add VIP")
        assert calls[first:first + 3] == ["add VIP", "advert 150", "routes, journal"], calls
        k2 = lab.start_keepalived("r2", conf(200))
        assert lab.wait_for(lambda: lab.vip_holders(VIP) == ["r2"], WAIT), lab.log(k2)
        assert lab.wait_for(lambda: "remove VIP" in calls, WAIT)
        step_down = calls.index("remove VIP")
        assert calls[step_down + 1] == "advert 150", calls  # higher_prio_send_advert: after the VIP went
