"""The last minute of each virtual router, one character per advert interval.

A strip per source: `|` advert, `M` this source became master, `P` its priority
changed, `0` a priority-0 advert (resigning), `x` an advert the master owed but
did not send, `D`/`F` on the operator row: a demote / force-failover drill started.
Slots are the advert interval long (configured, else the master's advertised one)
and phased on the first advert heard, so a steady master fills every slot.
"""

from __future__ import annotations

import math
from array import array
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from vrrptui.config.model import Config
from vrrptui.observe.addresses import MAX_SOURCES, address_order, address_text
from vrrptui.records import Heard, RouterKey
from vrrptui.protocol.packet import Advert

SPAN = 60.0  # seconds shown
KEEP_SLOTS = 10  # slots kept beyond the span, so the oldest shown slot still knows its previous advert
RATE_HEADROOM = 2  # a source may send this many adverts per slot before its oldest are forgotten early
ADVERT, MASTER, PRIORITY, RESIGN, MISSED = "|", "M", "P", "0", "x"
_PRECEDENCE = {MASTER: 4, RESIGN: 3, PRIORITY: 2, ADVERT: 1}
OPERATOR_ROW = "operator"


@dataclass(frozen=True, slots=True)
class TimelineRow:
    label: str  # source address, or "operator"
    strip: str
    master: bool  # the current master's row


class Adverts:
    """One source's adverts as (at, priority, mark), oldest first, at most `maxlen` (the oldest go).

    Three arrays, not a deque of tuples: ~10 bytes an advert instead of ~100, and no Python
    object per advert (at 2,550 adverts/s a minute of them is ~150,000).
    """

    __slots__ = ("maxlen", "_at", "_priority", "_mark", "_start")

    def __init__(self, maxlen: int, items: Iterable[tuple[float, int, str]] = ()) -> None:
        self.maxlen = maxlen
        self._at = array("d")
        self._priority = bytearray()
        self._mark = bytearray()
        self._start = 0  # entries before this one were popped
        for item in items:
            self.append(item)

    def __len__(self) -> int:
        return len(self._at) - self._start

    def append(self, item: tuple[float, int, str]) -> None:
        at, priority, mark = item
        self._at.append(at)
        self._priority.append(priority)
        self._mark.append(ord(mark))
        if len(self) > self.maxlen:
            self.popleft()

    def popleft(self) -> None:
        if not len(self):
            raise IndexError("pop from empty Adverts")
        self._start += 1
        if self._start >= 64 and 2 * self._start >= len(self._at):  # the popped half goes at once
            del self._at[:self._start], self._priority[:self._start], self._mark[:self._start]
            self._start = 0

    def __getitem__(self, index: int) -> tuple[float, int, str]:
        i = index + len(self) if index < 0 else index
        if not 0 <= i < len(self):
            raise IndexError("Adverts index out of range")
        i += self._start
        return self._at[i], self._priority[i], chr(self._mark[i])

    def __iter__(self) -> Iterator[tuple[float, int, str]]:
        s = self._start
        return zip(self._at[s:], self._priority[s:], map(chr, self._mark[s:]), strict=True)


@dataclass(slots=True)
class _Router:
    slot: float  # seconds per character
    origin: float | None = None
    configured: bool = False
    adverts: dict[str, Adverts] = field(default_factory=dict)  # src -> its adverts (at, prio, mark)
    periods: deque[tuple[float, str]] = field(default_factory=deque)  # (became master at, src)
    master: str | None = None
    master_priority: int = 0
    master_last: float = -math.inf
    master_resigned: bool = False
    operator: deque[tuple[float, str]] = field(default_factory=deque)


class Timeline:
    """Bounded: per source at most RATE_HEADROOM * (span / slot + KEEP_SLOTS) adverts (1,220 at 0.1 s),
    MAX_SOURCES sources per virtual router, and virtual routers are (interface, VRID, family)."""

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
        a, t, src = h.result, h.at, address_text(h.src)
        r = self._routers.get(h.key)
        if r is None:
            r = self._routers[h.key] = _Router(slot=a.max_advert_int or 1.0)
        if not r.configured and a.priority > 0 and a.max_advert_int > 0 and a.max_advert_int != r.slot:
            r.slot, r.origin = a.max_advert_int, None  # follow the master's interval (sniff mode)
            for other, kept in r.adverts.items():
                r.adverts[other] = Adverts(self._history_len(r), kept)
        if r.origin is None:
            r.origin = t - r.slot / 2  # adverts land mid-slot, so timer jitter stays inside it
        history = r.adverts.get(src)
        if history is None:
            if len(r.adverts) >= MAX_SOURCES:
                self._forget_quietest(r)
            history = r.adverts[src] = Adverts(self._history_len(r))
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

    def _history_len(self, r: _Router) -> int:
        return RATE_HEADROOM * (math.ceil(self.span / r.slot) + KEEP_SLOTS)

    @staticmethod
    def _forget_quietest(r: _Router) -> None:
        candidates = [s for s in r.adverts if s != r.master]
        if candidates:
            del r.adverts[min(candidates, key=lambda s: r.adverts[s][-1][0] if r.adverts[s] else -math.inf)]

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
        horizon = now - self.span - KEEP_SLOTS * r.slot
        for src, history in list(r.adverts.items()):
            while history and history[0][0] < horizon:
                history.popleft()
            if not history and src != r.master:
                del r.adverts[src]  # silent for the whole span: nothing left to show
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
            for a, b in zip(times, times[1:] + [end], strict=False):
                out.extend((due, src) for due in owed_adverts(a, b, r.slot))
        return out

    def labels(self, key: RouterKey, now: float, width: int) -> list[tuple[str, bool]]:
        """(label, master) of each row rows() draws, without drawing them: cheap enough for every router."""
        r = self._routers.get(key)
        if r is None or r.origin is None:
            return []
        _, first = self._window(r, now, width)
        missed: dict[str, set[int]] | None = None
        if any(src != r.master for _, src in r.periods):  # a former master may owe adverts in the window
            missed = self._missed_slots(key, r, now)
        out = []
        for src in sorted(r.adverts, key=_addr):
            if self._shown(r, src, first, missed):
                out.append((src, src == r.master and not r.master_resigned))
        if any(t >= now - self.span for t, _ in r.operator):
            out.append((OPERATOR_ROW, False))
        return out

    @staticmethod
    def _shown(r: _Router, src: str, first: int, missed: dict[str, set[int]] | None) -> bool:
        """A source gets a row while it is master or has a mark in the window (an advert, or an `x`)."""
        history = r.adverts[src]
        if src == r.master or (history and Timeline._index(r, history[-1][0]) >= first):
            return True
        return missed is not None and any(i >= first for i in missed.get(src, ()))

    def _window(self, r: _Router, now: float, width: int) -> tuple[int, int]:
        """(slots shown, index of the oldest shown slot); the newest is the slot of `now`."""
        n = max(1, min(width, int(self.span / r.slot)))
        return n, self._index(r, now) - n + 1

    def _missed_slots(self, key: RouterKey, r: _Router, now: float) -> dict[str, set[int]]:
        missed: dict[str, set[int]] = {}
        for due, src in self.missed(key, now):
            missed.setdefault(src, set()).add(self._index(r, due))
        return missed

    def rows(self, key: RouterKey, now: float, width: int) -> list[TimelineRow]:
        r = self._routers.get(key)
        if r is None or r.origin is None:
            return []
        n, first = self._window(r, now, width)
        missed = self._missed_slots(key, r, now)
        rows = []
        for src in sorted(r.adverts, key=_addr):
            if not self._shown(r, src, first, missed):
                continue
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
            for (t0, p0, _), (t1, _, _) in zip(history, history[1:], strict=False):
                if p0 > 0 and t1 - t0 <= 1.5 * r.slot:
                    for idx in range(self._index(r, t0) + 1, self._index(r, t1)):
                        if 0 <= idx - first < n and cells[idx - first] == " ":
                            cells[idx - first] = ADVERT
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
        assert r.origin is not None  # set by the first advert, before any row is drawn
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


_addr = address_order
