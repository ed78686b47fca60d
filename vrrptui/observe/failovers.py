"""Every failover in a capture, sans-I/O: the records go through the console's own Session.

A failover is a change of the wire's master of a VRID (vrrptui.observe.history's `master`
events: preemption, takeover after silence, handover after a priority-0 advert). For each:
the old and new master, the takeover time from the old master's last advert (its priority-0
advert for a handover) to the new master's first, the adverts the old master missed, and who
answered ARP / NA for the VIPs from the new master's first advert until the next failover.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass

from vrrptui.records import Heard, RouterKey
from vrrptui.observe.history import History, iso_time
from vrrptui.records import Claim
from vrrptui.observe.session import Session

VIP_WINDOW = 10.0  # seconds after the takeover in which ARP / NA answers belong to it (or the next failover)


@dataclass(frozen=True, slots=True)
class VipAnswer:
    vip: str
    mac: str
    owner: str  # the router whose adverts came from that MAC, "VRRP virtual MAC", or "unknown"
    kind: str  # "reply" or "announce" (gratuitous ARP, unsolicited NA)
    after_ms: float  # after the new master's first advert


@dataclass(frozen=True, slots=True)
class Failover:
    at: float  # epoch: the new master's first advert
    vrid: int
    family: int
    old_master: str
    new_master: str
    how: str  # preempted | took over after silence | after its priority-0 advert
    takeover_ms: float
    old_last_advert: float
    missed_adverts: int
    vip_answers: tuple[VipAnswer, ...]

    def to_json(self) -> dict:
        d = asdict(self)
        d["time"] = iso_time(self.at)
        d["old_last_advert"] = iso_time(self.old_last_advert)
        return d


def replay_session(records: Iterable[Heard | Claim]) -> Session:
    """A sniff-mode Session (no config) fed every advert at its capture time (epoch seconds)."""
    session = Session(None)
    session.history = History(session.wall, max_events=None)  # a long capture keeps every failover
    for r in sorted((r for r in records if isinstance(r, Heard)), key=lambda r: r.at):
        session.feed((r,), r.at)
    return session


def find_failovers(records: Iterable[Heard | Claim]) -> list[Failover]:
    records = list(records)
    session = replay_session(records)
    claims = sorted((r for r in records if isinstance(r, Claim)), key=lambda c: c.at)
    events = [e for e in session.history.events if e.kind == "master" and "new" in e.data]
    out = []
    for i, e in enumerate(events):
        d = e.data
        until = next((later.wall for later in events[i + 1:] if later.data["vrid"] == d["vrid"] and
                      later.data["family"] == d["family"]), e.wall + VIP_WINDOW)
        key = next(k for k in session.peers.keys() if (k.vrid, k.family) == (d["vrid"], d["family"]))
        out.append(Failover(e.wall, d["vrid"], d["family"], d["old"], d["new"], d["how"], d["takeover_ms"],
                            d["old_last_advert"], d["missed"],
                            _answers(session, key, d["new"], claims, e.wall, min(until, e.wall + VIP_WINDOW))))
    return out


def _answers(session: Session, key: RouterKey, new: str, claims: list[Claim], start: float,
             until: float) -> tuple[VipAnswer, ...]:
    vips = {v for p in session.peers.peers(start, key) if p.src == new for v in p.vips}
    seen: set[tuple[str, str]] = set()
    out = []
    for c in claims:
        if c.at < start or c.at >= until or c.vip not in vips or (c.vip, c.mac) in seen:
            continue
        seen.add((c.vip, c.mac))
        owner = session.peers.mac_owner(c.mac) or (
            "VRRP virtual MAC" if c.mac.startswith(("00:00:5e:00:01:", "00:00:5e:00:02:")) else "unknown")
        out.append(VipAnswer(c.vip, c.mac, owner, c.kind, round((c.at - start) * 1000, 3)))
    return tuple(out)


def summary_lines(name: str, packets: int, adverts: int, failovers: list[Failover]) -> list[str]:
    lines = [f"{name}: {packets} packets, {adverts} VRRP adverts, {len(failovers)} failover"
             f"{'s' * (len(failovers) != 1)}"]
    for f in failovers:
        lines.append(f"{iso_time(f.at)}  vrid {f.vrid} IPv{f.family}  {f.old_master} -> {f.new_master}  ({f.how})")
        last = iso_time(f.old_last_advert)[11:23]
        lines.append(f"    takeover {f.takeover_ms:.1f} ms (old master's last advert {last} -> new master's first), "
                     f"{f.missed_adverts} advert{'s' * (f.missed_adverts != 1)} missed")
        for a in f.vip_answers:
            lines.append(f"    {'ARP' if ':' not in a.vip else 'NA'} for {a.vip}: {a.mac} ({a.owner}) {a.kind}, "
                         f"{a.after_ms:.1f} ms after the takeover")
        if not f.vip_answers:
            lines.append("    no ARP / NA answer for the VIPs in the capture")
    return lines
