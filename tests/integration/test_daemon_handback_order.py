"""A hand-back's order on both sides, with the real runtime in r1's namespace.

New master (RFC 5798 6.4.1: the advert, then the GARPs): where nobody holds the VIPs (the master
resigned or fell silent) they go up first, then the advert and GARPs back to back; where a lower
priority master holds them (preemption), the advert goes first, so that it lets go as ours go
up. Only then the VIPs' virtual routes and bookkeeping; the interface holds the VIP when the
first GARP leaves. Old master hearing a higher priority: its VIPs go first, before its own
advert. tcpdump on the segment is the witness of what the wire saw.
"""

from __future__ import annotations

import ipaddress
from typing import Any

import pytest
from net_helpers import runtime_in

from vrrptui.config.parser import parse_config
from vrrptui.daemon.host import HostChanges
from vrrptui.daemon.runtime import Runtime
from vrrptui.engine.engine import Engine
from vrrptui.engine.outputs import LogLine
from vrrptui.lab import faults
from vrrptui.lab.netns import VIP, Lab
from vrrptui.lab.netns import fast_v3_conf as conf
from vrrptui.net.gratuitous import GratuitousSender
from vrrptui.net.netlink import Netlink
from vrrptui.net.nftables import VipFirewall
from vrrptui.net.sockets import VrrpSocket
from vrrptui.protocol import packet

pytestmark = pytest.mark.netns

WAIT = 10.0


def test_vips_then_advert_then_garps_then_the_rest_and_the_old_master_lets_go_first(
        lab: Lab, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    vip = ipaddress.ip_address(VIP)

    def spy(cls: Any, name: str, label: Any) -> None:
        real = getattr(cls, name)

        def wrapper(self: Any, *args: Any, **kw: Any) -> Any:
            calls.append(label(self, *args) if callable(label) else label)
            return real(self, *args, **kw)
        monkeypatch.setattr(cls, name, wrapper)

    def garp(sender: GratuitousSender, announcement: Any) -> str:
        # what the interface holds as the GARP leaves (a dump on the runtime's own netlink socket)
        held = any(e.local == vip for e in rt.host.netlink._rt.addresses())  # type: ignore[union-attr]
        return f"GARP, VIP {'held' if held else 'MISSING'}"

    spy(Netlink, "add_vip", "add VIP")
    spy(Netlink, "remove_vip", "remove VIP")
    spy(HostChanges, "vips_added", "routes, journal")
    spy(VrrpSocket, "send", lambda _sock, payload, *_: f"advert {payload[2]}")
    spy(GratuitousSender, "send", garp)
    path = lab.node_dir("r1") / "order.conf"
    path.write_text(conf(150, extra="virtual_routes {\n    10.77.0.0/16 via 192.168.1.2\n}"))
    lines: list[LogLine] = []
    rt = Runtime(parse_config(str(path), check_interfaces=False), log=lines.append, control_path=None)
    wire = lab.capture(bpf="vrrp or arp")
    with runtime_in(lab.ns("r1"), rt, WAIT):
        assert lab.wait_for(lambda: lab.vip_holders(VIP) == ["r1"] and "routes, journal" in calls, WAIT), lines
        first = calls.index("add VIP")  # r1 alone: its timer runs out, nobody holds the VIP
        assert calls[first:first + 3] == ["add VIP", "advert 150", "GARP, VIP held"], calls
        assert calls.index("routes, journal") > calls.index("GARP, VIP held"), calls
        assert "GARP, VIP MISSING" not in calls, calls
        k2 = lab.start_keepalived("r2", conf(200))
        assert lab.wait_for(lambda: lab.vip_holders(VIP) == ["r2"], WAIT), lab.log(k2)
        assert lab.wait_for(lambda: "remove VIP" in calls, WAIT)
        step_down = calls.index("remove VIP")
        assert calls[step_down + 1] == "advert 150", calls  # higher_prio_send_advert: after the VIP went
    # the wire: r1's first advert, then its GARPs for the VIP (none before the advert)
    r1_mac = lab.mac("r1")
    seen = [line for line in wire.read(["-e"]) if line.split()[1] == r1_mac]
    first_advert = next(i for i, line in enumerate(seen) if "VRRP" in line and "prio 150" in line)
    garps = [i for i, line in enumerate(seen) if f"who-has {VIP}" in line and f"tell {VIP}" in line]
    assert garps and min(garps) > first_advert, seen[:12]



def test_no_accept_sets_its_drop_rule_before_the_advert(lab: Lab, monkeypatch: pytest.MonkeyPatch) -> None:
    # the nft run takes milliseconds: before the VIP and advert, not between them
    calls: list[str] = []
    for cls, name, label in ((VipFirewall, "block", "drop rule"), (Netlink, "add_vip", "add VIP"),
                             (VrrpSocket, "send", "advert")):
        real = getattr(cls, name)
        monkeypatch.setattr(cls, name, lambda self, *a, _real=real, _label=label, **kw: (
            calls.append(_label), _real(self, *a, **kw))[1])
    path = lab.node_dir("r1") / "no_accept.conf"
    path.write_text(conf(150, extra="no_accept"))
    rt = Runtime(parse_config(str(path), check_interfaces=False), log=lambda _line: None, control_path=None)
    with runtime_in(lab.ns("r1"), rt, WAIT):
        assert lab.wait_for(lambda: lab.vip_holders(VIP) == ["r1"], WAIT)
        assert calls[:3] == ["drop rule", "add VIP", "advert"], calls


def beside_keepalived(lab: Lab, r2_priority: int, r1_priority: int, name: str) -> tuple[Any, Runtime, list[LogLine]]:
    """keepalived in r2 holding the VIP, and a Runtime for r1 (not started) with NAME.conf: (r2's
    process, the runtime, the lines it logs)."""
    k2 = lab.start_keepalived("r2", conf(r2_priority))
    assert lab.wait_for(lambda: lab.vip_holders(VIP) == ["r2"], WAIT), lab.log(k2)
    path = lab.node_dir("r1") / f"{name}.conf"
    path.write_text(conf(r1_priority))
    lines: list[LogLine] = []
    return k2, Runtime(parse_config(str(path), check_interfaces=False), log=lines.append, control_path=None), lines


def backup_taking_over(lab: Lab, calls: list[str], monkeypatch: pytest.MonkeyPatch, between: Any = None) -> None:
    """r1 (vrrptui, 100) backup to keepalived r2 (150), which stops (priority 0): r1 takes over.
    BETWEEN(lab, runtime) runs while r1 is backup. CALLS gets what r1 builds and sends, and its timer's runs."""
    def spy(cls: Any, name: str, label: Any) -> None:
        real = getattr(cls, name)

        def wrapper(self: Any, *args: Any, **kw: Any) -> Any:
            calls.append(label(*args) if callable(label) else label)
            return real(self, *args, **kw)
        monkeypatch.setattr(cls, name, wrapper)

    spy(Netlink, "vip_change", "build VIP request")
    spy(GratuitousSender, "announcement", "build GARP")
    spy(Engine, "handle_timer", "timer")
    spy(VrrpSocket, "send", lambda payload, *_: f"advert {payload[2]}")
    spy(GratuitousSender, "send", "GARP")
    spy(Netlink, "add_vip", "add VIP")
    k2, rt, lines = beside_keepalived(lab, 150, 100, "takeover")
    with runtime_in(lab.ns("r1"), rt, WAIT):
        assert lab.wait_for(lambda: "build GARP" in calls, WAIT), lines  # backup: its takeover built
        if between is not None:
            between(lab, rt)
        lab.stop(k2)
        assert lab.wait_for(lambda: lab.vip_holders(VIP) == ["r1"] and "GARP" in calls, WAIT), lines


def test_a_backup_builds_its_takeover_when_it_becomes_backup_and_its_timer_only_sends(
        lab: Lab, monkeypatch: pytest.MonkeyPatch) -> None:
    # Skew_Time after the priority 0: from the timer to the VIP and advert, nothing is looked up or built
    calls: list[str] = []
    backup_taking_over(lab, calls, monkeypatch)
    advert = calls.index("advert 100")
    timer = max(i for i in range(advert) if calls[i] == "timer")
    assert calls[timer + 1:advert] == ["add VIP"], calls
    assert "build VIP request" not in calls[timer:] and "build GARP" not in calls[timer:], calls


def test_a_takeover_adds_its_vips_sends_its_advert_and_garps_before_the_engine_works_out_the_rest(
        lab: Lab, monkeypatch: pytest.MonkeyPatch) -> None:
    # Engine urgent=: the segment sees the takeover before its log lines, notify and timers are worked out
    calls: list[str] = []
    real = Engine.handle_timer

    def handle_timer(self: Engine, now: float) -> Any:
        out = real(self, now)
        calls.append("engine returned")
        return out

    monkeypatch.setattr(Engine, "handle_timer", handle_timer)
    backup_taking_over(lab, calls, monkeypatch)
    vips = calls.index("add VIP")  # after a priority 0: nobody holds the VIP
    returned = calls.index("engine returned", vips)
    assert calls[vips:vips + 3] == ["add VIP", "advert 100", "GARP"], calls
    assert set(calls[vips + 2:returned]) == {"GARP"}, calls


def test_a_preempting_master_sends_its_advert_before_its_vips(lab: Lab, monkeypatch: pytest.MonkeyPatch) -> None:
    # keepalived r2 (100) holds the VIP: it lets go on r1's advert, as r1's VIP goes up
    calls: list[str] = []
    real_add, real_send = Netlink.add_vip, VrrpSocket.send
    monkeypatch.setattr(Netlink, "add_vip", lambda self, *a, **kw: (
        calls.append("add VIP"), real_add(self, *a, **kw))[1])
    monkeypatch.setattr(VrrpSocket, "send", lambda self, payload, *a, **kw: (
        calls.append(f"advert {payload[2]}"), real_send(self, payload, *a, **kw))[1])
    _k2, rt, lines = beside_keepalived(lab, 100, 150, "preempt")
    with runtime_in(lab.ns("r1"), rt, WAIT):
        assert lab.wait_for(lambda: lab.vip_holders(VIP) == ["r1"], WAIT), lines
        first = calls.index("advert 150")
        assert calls[first + 1] == "add VIP" and "add VIP" not in calls[:first], calls


def test_a_backup_whose_mac_changed_announces_the_new_one(lab: Lab, monkeypatch: pytest.MonkeyPatch) -> None:
    # what a backup built ahead is built again when its link changes: its GARPs carry the MAC it has now
    new_mac = "02:00:00:00:77:01"
    wire = lab.capture(bpf="arp")
    calls: list[str] = []
    backup_taking_over(lab, calls, monkeypatch, between=lambda lab, _rt: (
        lab.exec("r1", ["ip", "link", "set", "dev", "eth0", "address", new_mac], check=True),
        lab.wait_for(lambda: calls.count("build GARP") >= 2, WAIT)))
    r2_mac = lab.mac("r2")
    garps = [line.split()[1] for line in wire.read(["-e"]) if f"who-has {VIP}" in line and f"tell {VIP}" in line]
    assert garps and all(mac == new_mac for mac in garps if mac != r2_mac), garps


def test_a_backup_reloaded_with_another_vip_takes_over_with_the_new_list(
        lab: Lab, monkeypatch: pytest.MonkeyPatch) -> None:
    # its takeover advert was built when it became backup: a reload that changes it builds it again
    second = "192.168.1.101"
    wire = lab.capture(bpf="vrrp")
    calls: list[str] = []

    def reload_with_a_second_vip(lab: Lab, rt: Runtime) -> None:
        path = lab.node_dir("r1") / "takeover.conf"
        path.write_text(conf(100).replace(f"{VIP}/24", f"{VIP}/24\n        {second}/24"))
        assert rt.request_reload().result(WAIT), "reload refused"

    backup_taking_over(lab, calls, monkeypatch, between=reload_with_a_second_vip)
    takeover = next(line for line in wire.read(["-v"]) if f"{lab.ip4('r1')} > " in line and "prio 100" in line)
    assert f"{VIP}, {second}" in takeover or f"{VIP},{second}" in takeover, takeover


def test_a_master_losing_its_address_sends_its_prebuilt_priority_zero_before_working_out_the_fault(
        lab: Lab, monkeypatch: pytest.MonkeyPatch) -> None:
    # the backup's Skew_Time starts when the priority 0 arrives: it leaves while the engine is still in
    # address_state (Engine urgent=), encoded when r1 became master, before the FAULT's logs and notify
    calls: list[str] = []
    real_state, real_encode, real_send = Engine.address_state, packet.encode, VrrpSocket.send

    def address_state(self: Engine, *args: Any, **kw: Any) -> Any:
        out = real_state(self, *args, **kw)
        calls.append("engine worked out the FAULT")
        return out

    monkeypatch.setattr(Engine, "address_state", address_state)
    monkeypatch.setattr(packet, "encode", lambda advert, *a, **kw: (
        calls.append(f"encode {advert.priority}"), real_encode(advert, *a, **kw))[1])
    monkeypatch.setattr(VrrpSocket, "send", lambda self, payload, *a, **kw: (
        calls.append(f"advert {payload[2]}"), real_send(self, payload, *a, **kw))[1])
    path = lab.node_dir("r1") / "resign.conf"
    path.write_text(conf(150))
    lines: list[LogLine] = []
    rt = Runtime(parse_config(str(path), check_interfaces=False), log=lines.append, control_path=None)
    wire = lab.capture(bpf="vrrp")
    with runtime_in(lab.ns("r1"), rt, WAIT):
        assert lab.wait_for(lambda: lab.vip_holders(VIP) == ["r1"], WAIT), lines
        assert lab.wait_for(lambda: "encode 0" in calls, WAIT), calls  # as it became master
        calls.append("primary deleted")
        faults.delete_primary(lab, "r1")
        assert lab.wait_for(lambda: "engine worked out the FAULT" in calls, WAIT), lines
        resign = calls.index("advert 0")
        assert resign < calls.index("engine worked out the FAULT"), calls
        assert "encode 0" not in calls[calls.index("primary deleted"):resign], calls
        assert calls.count("advert 0") == 1, calls
    assert any(a.src == lab.ip4("r1") and a.priority == 0 for a in wire.adverts()), wire.read()
