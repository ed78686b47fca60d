"""Failover drills: every operator demote / force-failover, timed from the wire.

A drill starts when the operator acts and ends when both the new master's first
advert and the first ARP / NA claim of the VIP from the new owner have been seen
(or after a timeout). Results go to a JSON Lines file so a team keeps its history.

Missed adverts are counted as the timeline marks them (`x`): the adverts the old
master owed from its last advert with priority > 0 to the new master's first advert
(or to its own priority-0 advert, after which it owes nothing), one per advert
interval once half an interval late (`timeline.owed_adverts`).
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Protocol

from vrrptui.observe.addresses import address_text
from vrrptui.records import Drill, Heard, RouterKey
from vrrptui.observe.timeline import owed_adverts
from vrrptui.protocol.timers import master_down_interval, skew_time
from vrrptui.protocol.packet import Advert

DEMOTE, FAILOVER = "demote", "failover"
MIN_TIMEOUT = 10.0  # seconds; a drill also gets 10 master-down intervals


class DrillStore(Protocol):
    """Where finished drills are kept (vrrptui.daemon.drillfile.DrillFile: a JSON Lines file)."""

    @property
    def path(self) -> Path: ...

    def read(self) -> list[Drill]: ...

    def append(self, drill: Drill) -> None: ...


@dataclass(slots=True)
class _Active:
    drill: Drill
    interval: float
    timeout_at: float
    vips: frozenset[str]
    own_addresses: frozenset[str]
    own_macs: frozenset[str]
    vmac: str | None
    old_macs: set[str] = field(default_factory=set)
    new_macs: set[str] = field(default_factory=set)
    old_last_advert: float | None = None  # the old master's last advert with priority > 0
    old_resigned_at: float | None = None  # its priority-0 advert after that one


class DrillTracker:
    def __init__(self) -> None:
        self._active: list[_Active] = []

    @property
    def running(self) -> tuple[Drill, ...]:
        return tuple(a.drill for a in self._active)

    def start(
        self,
        action: str,
        instance: str,
        key: RouterKey,
        *,
        acted_at: float,
        interval: float,
        master_down_interval: float,
        old_master: str | None,
        vips: tuple[str, ...],
        own_addresses: tuple[str, ...] = (),
        own_macs: tuple[str, ...] = (),
        vmac: str | None = None,
        wall: float | None = None,
        old_last_advert: float | None = None,
    ) -> Drill:
        """`old_last_advert`: when the old master last advertised (priority > 0) before the drill."""
        started = time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(time.time() if wall is None else wall))
        drill = Drill(action, instance, key.ifname, key.vrid, key.family, started, acted_at, old_master)
        own_macs_l = frozenset(m.lower() for m in own_macs)
        active = _Active(
            drill, interval, acted_at + max(MIN_TIMEOUT, 10 * master_down_interval), frozenset(vips),
            frozenset(own_addresses), own_macs_l, vmac.lower() if vmac else None,
        )
        active.old_last_advert = old_last_advert
        if old_master is not None and old_master in active.own_addresses:
            active.old_macs |= own_macs_l
            if old_last_advert is None:
                active.old_last_advert = acted_at  # none seen: we stop (or send priority 0) as we act
        self._active.append(active)
        return drill

    # --- what was seen -------------------------------------------------------------

    def heard(self, h: Heard) -> None:
        if not isinstance(h.result, Advert):
            return
        src = address_text(h.src)
        for a in self._active:
            d = a.drill
            if h.key != d.key:
                continue
            if src == d.old_master and d.new_master is None:
                if h.src_mac:
                    a.old_macs.add(h.src_mac.lower())
                if h.result.priority > 0:
                    if a.old_last_advert is None or h.at > a.old_last_advert:
                        a.old_last_advert, a.old_resigned_at = h.at, None
                elif a.old_resigned_at is None:
                    a.old_resigned_at = h.at
                continue
            if h.at < d.acted_at or h.result.priority == 0 or d.new_master is not None:
                continue
            if src == d.old_master:
                continue
            self._new_master(a, src, h.at, h.src_mac)

    def became_master(self, instance: str, at: float) -> None:
        """Our instance took over (engine StateChanged): we are the new master."""
        for a in self._active:
            if a.drill.instance == instance and a.drill.new_master is None and at >= a.drill.acted_at:
                self._new_master(a, next(iter(sorted(a.own_addresses)), "this host"), at, None, local=True)

    def _new_master(self, a: _Active, src: str, at: float, mac: str | None, local: bool = False) -> None:
        d = a.drill
        if mac:
            a.new_macs.add(mac.lower())
        if local or src in a.own_addresses:
            a.new_macs |= a.own_macs
        last = a.old_last_advert if a.old_last_advert is not None else d.acted_at
        until = at if a.old_resigned_at is None else min(at, a.old_resigned_at)
        missed = len(owed_adverts(last, until, a.interval)) if a.interval > 0 else None
        a.drill = replace(
            d, new_master=src, new_master_first_advert_at=at, adverts_missed=missed,
            takeover_ms=round((at - d.acted_at) * 1000, 1), old_last_advert_at=a.old_last_advert,
        )

    def claim(self, vip: str, mac: str, at: float) -> None:
        """`mac` answered ARP / NS for `vip`, or announced it (GARP / unsolicited NA)."""
        mac = mac.lower()
        for a in self._active:
            d = a.drill
            if vip not in a.vips or d.vip_answered_at is not None or at < d.acted_at:
                continue
            from_new = mac in a.new_macs or (mac == a.vmac and d.new_master is not None)
            if from_new or (mac not in a.old_macs and mac != a.vmac):
                a.drill = replace(d, vip_answered_at=at, vip_answered_by=mac,
                                  vip_ms=round((at - d.acted_at) * 1000, 1))

    def local_vip(self, vip: str, at: float) -> None:
        """The VIP appeared on a local interface: the new owner is this host."""
        for a in self._active:
            d = a.drill
            if vip in a.vips and d.vip_answered_at is None and at >= d.acted_at and d.new_master in a.own_addresses:
                a.drill = replace(d, vip_answered_at=at, vip_answered_by="local",
                                  vip_ms=round((at - d.acted_at) * 1000, 1))

    def tick(self, now: float) -> list[Drill]:
        """Drills that finished (complete, or timed out) since the last tick."""
        done, keep = [], []
        for a in self._active:
            d = a.drill
            if d.new_master_first_advert_at is not None and d.vip_answered_at is not None:
                done.append(replace(d, result="ok"))
            elif now >= a.timeout_at:
                done.append(replace(d, result="incomplete"))
            else:
                keep.append(a)
        self._active = keep
        return done


def theory_ms(d: Drill, version: int, interval: float, new_priority: int | None, we_took_over: bool) -> float | None:
    """Acted -> the new master's first advert as RFC 5798 6.4.2 times it.

    demote: the backup hears priority 0 and waits Skew_Time; failover of a master: the backup
    waits Master_Down_Interval from the old master's last advert (part of it gone before the
    act); failover of a backup: it takes over at once.
    """
    if new_priority is None:
        return None
    if d.action == DEMOTE:
        return round(skew_time(version, new_priority, interval) * 1000, 1)
    if we_took_over and d.old_master != d.new_master and d.old_last_advert_at is not None \
            and d.acted_at - d.old_last_advert_at < interval:
        return 0.0  # `f` on a backup: no timer
    since = d.acted_at - (d.old_last_advert_at if d.old_last_advert_at is not None else d.acted_at)
    return round(max(0.0, master_down_interval(version, new_priority, interval) - since) * 1000, 1)


_PING_REPLY = re.compile(r"^\[(\d+\.\d+)\] \d+ bytes from ")


def client_outage_ms(ping_lines: list[str], start: float, end: float) -> float | None:
    """From `ping -D` lines (the lab's pc1): the longest gap between replies around [start, end]
    (epoch seconds) beyond the ping interval; None when no reply brackets the window."""
    times = [float(m[1]) for line in ping_lines if (m := _PING_REPLY.match(line))]
    before = [t for t in times if t <= start]
    after = [t for t in times if t >= end]
    if not before or not after or len(times) < 3:
        return None
    span = [t for t in times if before[-1] <= t <= after[0]]
    gaps = sorted(b - a for a, b in zip(times, times[1:], strict=False))
    nominal = gaps[len(gaps) // 2]
    longest = max(b - a for a, b in zip(span, span[1:], strict=False))
    return round(max(0.0, longest - nominal) * 1000, 1)
