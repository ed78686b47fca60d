"""The last minute of each virtual router, one character per advert interval.

A strip per source: `|` advert, `M` this source became master, `P` its priority
changed, `0` a priority-0 advert (resigning), `x` an advert the master owed but
did not send, `D`/`F` on the operator row: a demote / force-failover drill started.
Slots are the advert interval long (configured, else the master's advertised one)
and phased on the first advert heard, so a steady master fills every slot.
"""

from __future__ import annotations

import ipaddress
import math
from collections import deque
from dataclasses import dataclass, field

from vrrptui.config.model import Config
from vrrptui.observe.heard import Heard, RouterKey
from vrrptui.protocol.packet import Advert

SPAN = 60.0  # seconds shown
ADVERT, MASTER, PRIORITY, RESIGN, MISSED = "|", "M", "P", "0", "x"
_PRECEDENCE = {MASTER: 4, RESIGN: 3, PRIORITY: 2, ADVERT: 1}
OPERATOR_ROW = "operator"


@dataclass(frozen=True, slots=True)
class TimelineRow:
    label: str  # source address, or "operator"
    strip: str
    master: bool  # the current master's row


@dataclass(slots=True)
class _Router:
    slot: float  # seconds per character
    origin: float | None = None
    configured: bool = False
    adverts: dict[str, deque[tuple[float, int, str]]] = field(default_factory=dict)  # src -> (at, prio, mark)
    periods: deque[tuple[float, str]] = field(default_factory=deque)  # (became master at, src)
    master: str | None = None
    master_priority: int = 0
    master_last: float = -math.inf
    master_resigned: bool = False
    operator: deque[tuple[float, str]] = field(default_factory=deque)


class Timeline:
    def __init__(self, config: Config | None = None, span: float = SPAN) -> None:
        self.span = span
        self._routers: dict[RouterKey, _Router] = {}
        if config is not None:
            for inst in config.instances:
                if inst.interface is not None:
                    key = RouterKey(inst.interface, inst.vrid, inst.family)
                    self._routers[key] = _Router(slot=inst.advert_int, configured=True)

    def keys(self) -> list[RouterKey]:
        return sorted(self._routers)

    def slot(self, key: RouterKey) -> float | None:
        r = self._routers.get(key)
        return r.slot if r else None

    def master(self, key: RouterKey) -> str | None:
        r = self._routers.get(key)
        return r.master if r else None

    # --- input ---------------------------------------------------------------------

    def heard(self, h: Heard) -> None:
        if not isinstance(h.result, Advert) or h.key is None:
            return
        a, t, src = h.result, h.at, str(h.src)
        r = self._routers.get(h.key)
        if r is None:
            r = self._routers[h.key] = _Router(slot=a.max_advert_int or 1.0)
        if not r.configured and a.priority > 0 and a.max_advert_int > 0 and a.max_advert_int != r.slot:
            r.slot, r.origin = a.max_advert_int, None  # follow the master's interval (sniff mode)
        if r.origin is None:
            r.origin = t - r.slot / 2  # adverts land mid-slot, so timer jitter stays inside it
        history = r.adverts.setdefault(src, deque())
        last_priority = history[-1][1] if history else None
        mark = ADVERT
        if a.priority == 0:
            mark = RESIGN
            if src == r.master:
                r.master_resigned = True
        elif self._takes_over(r, src, a.priority, t):
            if r.master is not None:
                mark = MASTER
            r.master, r.master_resigned = src, False
            r.periods.append((t, src))
        elif last_priority is not None and last_priority != a.priority:
            mark = PRIORITY
        if src == r.master and a.priority > 0:
            r.master_priority, r.master_last = a.priority, t
        history.append((t, a.priority, mark))
        self._trim(r, t)

    def mark(self, key: RouterKey, at: float, char: str) -> None:
        """An operator action (drill) on this router, shown on its own row."""
        r = self._routers.get(key)
        if r is None:
            return
        r.operator.append((at, char))
        self._trim(r, at)

    @staticmethod
    def _takes_over(r: _Router, src: str, priority: int, t: float) -> bool:
        if r.master is None or r.master_resigned:
            return True
        if src == r.master:
            return False
        if t - r.master_last > 1.5 * r.slot:
            return True  # the master went quiet: whoever advertises now is master
        if priority != r.master_priority:
            return priority > r.master_priority
        return _addr(src) > _addr(r.master)  # RFC 5798 6.4.3: equal priority, higher address wins

    def _trim(self, r: _Router, now: float) -> None:
        horizon = now - self.span - 10 * r.slot
        for history in r.adverts.values():
            while history and history[0][0] < horizon:
                history.popleft()
        while len(r.periods) > 1 and r.periods[1][0] < horizon:
            r.periods.popleft()
        while r.operator and r.operator[0][0] < horizon:
            r.operator.popleft()

    # --- rendering -----------------------------------------------------------------

    def missed(self, key: RouterKey, now: float) -> list[tuple[float, str]]:
        """(when it was due, master) for each advert a master owed and did not send."""
        r = self._routers.get(key)
        if r is None:
            return []
        out: list[tuple[float, str]] = []
        periods = list(r.periods)
        for i, (start, src) in enumerate(periods):
            end = periods[i + 1][0] if i + 1 < len(periods) else now
            resigned = [t for t, p, _ in r.adverts.get(src, ()) if p == 0 and t >= start]
            if resigned:
                end = min(end, resigned[0])
            times = [t for t, p, _ in r.adverts.get(src, ()) if start <= t < end and p > 0]
            for a, b in zip(times, times[1:] + [end]):
                out.extend((due, src) for due in owed_adverts(a, b, r.slot))
        return out

    def rows(self, key: RouterKey, now: float, width: int) -> list[TimelineRow]:
        r = self._routers.get(key)
        if r is None or r.origin is None:
            return []
        n = max(1, min(width, int(self.span / r.slot)))
        last = self._index(r, now)
        first = last - n + 1
        missed: dict[str, set[int]] = {}
        for due, src in self.missed(key, now):
            missed.setdefault(src, set()).add(self._index(r, due))
        rows = []
        for src in sorted(r.adverts, key=_addr):
            cells = [" "] * n
            history = list(r.adverts[src])
            for t, _, mark in history:
                i = self._index(r, t) - first
                if 0 <= i < n and _PRECEDENCE.get(mark, 0) > _PRECEDENCE.get(cells[i], 0):
                    cells[i] = mark
            for idx in missed.get(src, ()):
                if 0 <= idx - first < n and cells[idx - first] == " ":
                    cells[idx - first] = MISSED
            # Timer drift can leave a slot empty between two on-time adverts: not a miss.
            for (t0, p0, _), (t1, _, _) in zip(history, history[1:]):
                if p0 > 0 and t1 - t0 <= 1.5 * r.slot:
                    for idx in range(self._index(r, t0) + 1, self._index(r, t1)):
                        if 0 <= idx - first < n and cells[idx - first] == " ":
                            cells[idx - first] = ADVERT
            if any(c != " " for c in cells) or src == r.master:
                rows.append(TimelineRow(src, "".join(cells), src == r.master and not r.master_resigned))
        if any(t >= now - self.span for t, _ in r.operator):
            cells = [" "] * n
            for t, char in r.operator:
                i = self._index(r, t) - first
                if 0 <= i < n:
                    cells[i] = char
            rows.append(TimelineRow(OPERATOR_ROW, "".join(cells), False))
        return rows

    @staticmethod
    def _index(r: _Router, t: float) -> int:
        return math.floor((t - r.origin) / r.slot + 1e-9)


def owed_adverts(last: float, until: float, interval: float) -> list[float]:
    """When the adverts a master owed after its advert at `last` were due, up to `until`.

    One per advert interval, owed once half an interval past its due time has gone by
    (timer jitter is not a miss). The timeline's `x` marks and a drill's missed count
    both come from here.
    """
    if interval <= 0:
        return []
    out = []
    k = 1
    while last + (k + 0.5) * interval <= until:
        out.append(last + k * interval)
        k += 1
    return out


def _addr(src: str) -> tuple[int, int]:
    a = ipaddress.ip_address(src)
    return (a.version, int(a))
