"""Synthetic observations for console tests: no network, frozen clock (engine time 1000 s)."""

from __future__ import annotations

import dataclasses
import ipaddress
from pathlib import Path

from vrrptui.daemon.drillfile import DrillFile
from vrrptui.config.parser import parse_config
from vrrptui.console.app import VrrpConsole
from vrrptui.console.backends import NullBackend
from vrrptui.records import Heard, StatusSnapshot
from vrrptui.engine.outputs import Counters, Reason
from vrrptui.engine.status import InstanceStatus
from vrrptui.records import HostStats, OtherDaemon
from vrrptui.records import Claim, LocalPresence, ProbeSent
from vrrptui.protocol.packet import Advert, Drop, DropReason, encode

NOW = 1000.0
WALL = 1_700_000_000.0  # 2023-11-14 22:13:20 UTC
ME, PEER, ROGUE = "192.168.1.11", "192.168.1.12", "192.168.1.50"
VIP = "192.168.1.13"
MAC_ME, MAC_PEER, MAC_ROGUE = "02:00:00:00:00:11", "02:00:00:00:00:12", "02:00:00:00:00:50"

CONF = """\
vrrp_instance VI_1 {
    state BACKUP
    interface eth0
    virtual_router_id 150
    priority 100
    advert_int 1
    unicast_src_ip 192.168.1.11
    unicast_peer {
        192.168.1.12
    }
    authentication {
        auth_type PASS
        auth_pass 1212
    }
    virtual_ipaddress {
        192.168.1.13/24
    }
}
vrrp_instance VI_6 {
    state BACKUP
    interface eth0
    virtual_router_id 45
    priority 100
    advert_int 0.1
    virtual_ipaddress {
        fd00::45/64
    }
}
"""


def config(tmp_path: Path):
    path = tmp_path / "keepalived.conf"
    path.write_text(CONF)
    return parse_config(str(path), check_interfaces=False)


class FrozenHost:
    def __init__(self, others: tuple[OtherDaemon, ...] = ()) -> None:
        self.others = others
        self.scan_due = True  # as HostMonitor: the next sample scans every process

    def sample(self) -> HostStats:
        return HostStats("router1", 2.5, 48 * 1024 * 1024, self.others)


class Clock:
    def __init__(self, t: float = NOW) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def status(name: str = "VI_1", state: str = "BACKUP", **kw) -> InstanceStatus:
    base = dict(
        name=name, interface="eth0", vrid=150, version=2, family=4, state=state, state_since=NOW - 65.0,
        configured_priority=100, effective_priority=100, priority_reason="", primary_address=ME,
        master_address=PEER if state == "BACKUP" else ME, master_priority=101 if state == "BACKUP" else 100,
        advert_int=1.0, learned_advert_int=None, skew_time=0.609, master_down_interval=3.609,
        master_down_at=NOW + 2.75 if state == "BACKUP" else None, preempt=True, preempt_delay=0.0,
        last_transition="INIT -> BACKUP", last_reason=Reason.STARTUP.value, vips=(f"{VIP}/24",), vmac=None,
        unicast_peers=(PEER,), trackers=(), held=None, counters=Counters(adverts_received=65),
    )
    base.update(kw)
    return InstanceStatus(**base)


def v6_status(state: str = "MASTER") -> InstanceStatus:
    return status("VI_6", state, vrid=45, version=3, family=6, advert_int=0.1, skew_time=0.061,
                  master_down_interval=0.361, primary_address="fe80::11", master_address="fe80::11",
                  master_priority=100, master_down_at=None, vips=("fd00::45/64",), unicast_peers=(),
                  last_transition="BACKUP -> MASTER", last_reason=Reason.TIMEOUT.value, state_since=NOW - 12.3,
                  counters=Counters(adverts_sent=123, became_master=1))


def snapshot(*instances: InstanceStatus, at: float = NOW) -> StatusSnapshot:
    return StatusSnapshot(at, WALL + (at - NOW), tuple(instances))


def advert(src: str = PEER, at: float = NOW, prio: int = 101, vrid: int = 150, pw: str = "1212",
           interval: float = 1.0, dst: str = ME, ttl: int = 255, vips=(VIP,)) -> Heard:
    a = Advert.from_fields(2, vrid, prio, interval, vips, auth_pass=pw)
    s, d = ipaddress.ip_address(src), ipaddress.ip_address(dst)
    payload = encode(a, s, d)
    from vrrptui.protocol.packet import decode

    return Heard("eth0", at, s, d, ttl, decode(payload, s, d), payload)


def bad_checksum(src: str = ROGUE, at: float = NOW) -> Heard:
    a = Advert.from_fields(2, 150, 90, 1.0, (VIP,), auth_pass="1212")
    s, d = ipaddress.ip_address(src), ipaddress.ip_address("224.0.0.18")
    payload = encode(a, s, d)
    payload = payload[:6] + b"\x12\x34" + payload[8:]
    return Heard("eth0", at, s, d, 255, Drop(DropReason.CHECKSUM, "bad checksum"), payload)


def sent(at: float, prio: int = 100, src: str = "fe80::11", vrid: int = 45) -> Heard:
    a = Advert.from_fields(3, vrid, prio, 0.1, ("fd00::45",))
    s, d = ipaddress.ip_address(src), ipaddress.ip_address("ff02::12")
    return Heard("eth0", at, s, d, 255, a, encode(a, s, d), outgoing=True)


def steady_backup(seconds: int = 20) -> list:
    """VI_1 backup watching its master 192.168.1.12 for `seconds`, VI_6 master sending."""
    items: list = [snapshot(status(), v6_status(), at=NOW - seconds)]
    for i in range(seconds, 0, -1):
        items.append(advert(at=NOW - i + 0.25))
    for i in range(int(seconds * 10), 0, -1):
        items.append(sent(NOW - i * 0.1 + 0.03))
    items.append(LocalPresence(VIP, False, NOW - 5))
    items.append(LocalPresence("fd00::45", True, NOW - 5))
    items.append(ProbeSent(VIP, NOW - 0.5))
    items.append(Claim(VIP, MAC_PEER, NOW - 0.499, "reply"))
    items.append(snapshot(status(), v6_status()))
    return items


def show_steady_backup(app) -> None:
    """The start of most pilot tests: a steady backup fed to the app and its panes painted once."""
    app.observe(steady_backup())
    app.refresh_panes()


def make_app(tmp_path: Path, *, engine: bool = True, clock: Clock | None = None, host=None,
             with_config: bool = True, keymap: dict[str, str] | None = None, assume_yes: bool = False) -> VrrpConsole:
    from vrrptui.observe.session import Session

    cfg = config(tmp_path) if with_config and engine else None
    session = Session(cfg, drill_store=DrillFile(tmp_path / "drills.jsonl"))
    session.own_macs = {MAC_ME}
    session.vips.own_macs = {MAC_ME}
    session.peer_macs[MAC_PEER] = PEER
    return VrrpConsole(session, NullBackend(engine=engine), title="/etc/keepalived/keepalived.conf",
                       clock=clock or Clock(), host=host or FrozenHost(), timers=False, start_backend=False,
                       lab_ping_path=tmp_path / "no-ping.log", pcap_dir=tmp_path, keymap=keymap, assume_yes=assume_yes)


def heard(p: Heard, mac: str | None = None, outgoing: bool = False) -> Heard:
    """The sniffer's view of a packet (sniff mode): with the sender's MAC."""
    return dataclasses.replace(p, src_mac=mac, outgoing=outgoing)
