"""The event history: what happened to each virtual router, dated, one record per event.

Sans-I/O: the Session feeds `History` with what it sees (adverts, engine transitions,
status snapshots, alarms, drills, operator actions); records wait in `pending` until the
console appends them to `$STATE_DIR/vrrptui/<config-name>/events.jsonl`. Kinds:

- `transition`: one of our instances changed state (engine StateChanged, with its reason);
- `master`: the wire's master of a VRID changed (preemption, takeover after silence,
  handover after a priority-0 advert), with the takeover time from the old master's last
  advert (or its priority-0 advert) to the new master's first;
- `missed`: a run of adverts a master owed and did not send (timeline's `x`, one per
  interval once half an interval late), recorded when it advertises again or is replaced;
- `priority`: a router's advertised priority changed, or one of our instances' effective one;
- `alarm` / `cleared`: a health verdict (vrrptui.observe.health) raised or cleared;
- `operator`: a key the operator pressed that acts on the engine (priority, demote, ...);
- `drill`: a finished drill, with theory vs measured takeover and the client's outage.
"""

from __future__ import annotations

import csv
import io
import json
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any
from collections.abc import Callable, Iterable

from vrrptui.engine.outputs import StateChanged
from vrrptui.engine.status import InstanceStatus
from vrrptui.records import Drill
from vrrptui.observe.health import AlarmChange
from vrrptui.observe.addresses import address_order, address_text
from vrrptui.records import Heard, RouterKey
from vrrptui.observe.timeline import owed_adverts
from vrrptui.protocol.packet import Advert

MAX_EVENTS = 2000  # kept in memory for the History pane (the file keeps everything)
CSV_FIELDS = ("time", "kind", "scope", "text")


def iso_time(wall: float) -> str:
    """Local time with milliseconds and the UTC offset: 2026-12-03T04:05:06.789+0000."""
    ms = round(wall * 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(ms // 1000)) + f".{ms % 1000:03d}" + \
        time.strftime("%z", time.localtime(ms // 1000))


@dataclass(frozen=True, slots=True)
class HistoryEvent:
    wall: float  # epoch seconds
    kind: str
    scope: str  # an instance ("VI_1 (eth0 vrid 51 IPv4)") or a virtual router ("eth0 vrid 51 IPv4")
    text: str
    data: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    def to_json(self) -> dict[str, Any]:
        return {"time": iso_time(self.wall), "epoch": round(self.wall, 6), "kind": self.kind, "scope": self.scope,
                "text": self.text, **self.data}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> HistoryEvent:
        rest = {k: v for k, v in d.items() if k not in ("time", "epoch", "kind", "scope", "text")}
        return cls(float(d["epoch"]), str(d["kind"]), str(d["scope"]), str(d["text"]), rest)


def parse_events(lines: Iterable[str]) -> list[HistoryEvent]:
    """Events from JSON Lines; lines that are not events (hand edits, a cut first line) are skipped."""
    out = []
    for line in lines:
        try:
            out.append(HistoryEvent.from_json(json.loads(line)))
        except (ValueError, TypeError, KeyError):
            continue
    return out


def to_jsonl(events: Iterable[HistoryEvent]) -> str:
    return "".join(json.dumps(e.to_json(), sort_keys=True) + "\n" for e in events)


def to_csv(events: Iterable[HistoryEvent]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_FIELDS)
    for e in events:
        writer.writerow((iso_time(e.wall), e.kind, e.scope, e.text))
    return out.getvalue()


@dataclass(slots=True)
class _Master:
    src: str
    priority: int
    last: float  # its last advert with priority > 0
    interval: float
    resigned_at: float | None = None


class History:
    def __init__(self, wall: Callable[[float], float], max_events: int | None = MAX_EVENTS) -> None:
        self.wall = wall  # engine / capture clock -> epoch seconds
        self.events: deque[HistoryEvent] = deque(maxlen=max_events)
        self.pending: list[HistoryEvent] = []  # not yet written to the file
        self._masters: dict[RouterKey, _Master] = {}
        self._priorities: dict[tuple[RouterKey, str], int] = {}
        self._effective: dict[str, int] = {}

    def load(self, events: Iterable[HistoryEvent]) -> None:
        """Events from earlier runs (already in the file): shown, not written again."""
        self.events.extend(events)

    def add(self, at: float, kind: str, scope: str, text: str, **data: Any) -> HistoryEvent:
        event = HistoryEvent(self.wall(at), kind, scope, text, data)
        self.events.append(event)
        self.pending.append(event)
        return event

    def take_pending(self) -> list[HistoryEvent]:
        out, self.pending = self.pending, []
        return out

    # --- the wire ------------------------------------------------------------------

    def heard(self, h: Heard, current_master: str | None) -> None:
        """An advert (ours included); `current_master`: the PeerTable's master of the VRID after it."""
        advert = h.result
        key = h.key
        if not isinstance(advert, Advert) or key is None:
            return
        src = address_text(h.src)
        scope = str(key)
        if not h.outgoing and advert.priority > 0:
            before = self._priorities.get((key, src))
            if before is not None and before != advert.priority:
                self.add(h.at, "priority", scope, f"{src} advertises priority {before} -> {advert.priority}",
                         src=src, old=before, new=advert.priority)
            self._priorities[(key, src)] = advert.priority
        m = self._masters.get(key)
        if m is not None and src == m.src:
            if advert.priority == 0:
                if m.resigned_at is None:
                    m.resigned_at = h.at
                    self.add(h.at, "master", scope, f"master {src} resigned (priority 0)", src=src)
                return
            self._missed(key, m, h.at)
            m.last, m.priority, m.interval, m.resigned_at = h.at, advert.priority, advert.max_advert_int, None
            return
        if advert.priority == 0 or current_master != src:
            return
        if m is not None:
            missed = self._missed(key, m, h.at if m.resigned_at is None else min(h.at, m.resigned_at))
            if m.resigned_at is not None:
                how, start = "after its priority-0 advert", m.resigned_at
            elif (advert.priority, address_order(src)) > (m.priority, address_order(m.src)) and \
                    h.at - m.last <= 1.5 * m.interval:
                how, start = "preempted", m.last
            else:
                how, start = "took over after silence", m.last
            ms = round((h.at - start) * 1000, 3)
            self.add(h.at, "master", scope, f"master {m.src} -> {src} ({how}, takeover {ms:.0f} ms)",
                     old=m.src, new=src, how=how, takeover_ms=ms, missed=missed, vrid=key.vrid, family=key.family,
                     old_last_advert=round(self.wall(start), 6))
        self._masters[key] = _Master(src, advert.priority, h.at, advert.max_advert_int)

    def _missed(self, key: RouterKey, m: _Master, until: float) -> int:
        owed = owed_adverts(m.last, until, m.interval)
        if owed:
            self.add(until, "missed", str(key), f"{m.src} missed {len(owed)} advert{'s' * (len(owed) > 1)} "
                     f"({(until - m.last) * 1000:.0f} ms without one)", src=m.src, missed=len(owed),
                     silent_ms=round((until - m.last) * 1000, 1))
        return len(owed)

    # --- the engine and the operator -------------------------------------------------

    def state_changed(self, ev: StateChanged, scope: str) -> None:
        detail = f" ({ev.detail})" if ev.detail else ""
        self.add(ev.at, "transition", scope, f"{ev.old.value} -> {ev.new.value}: {ev.reason.value}{detail}",
                 old=ev.old.value, new=ev.new.value, reason=ev.reason.value)

    def status(self, s: InstanceStatus, at: float, scope: str) -> None:
        before = self._effective.get(s.name)
        self._effective[s.name] = s.effective_priority
        if before is not None and before != s.effective_priority:
            why = f" ({s.priority_reason})" if s.priority_reason else ""
            self.add(at, "priority", scope, f"priority {before} -> {s.effective_priority}{why}",
                     old=before, new=s.effective_priority)

    def operator(self, at: float, action: str, scope: str, detail: str = "") -> None:
        self.add(at, "operator", scope, action + (f" {detail}" if detail else ""), action=action)

    def alarm(self, change: AlarmChange) -> None:
        v = change.verdict
        if change.raised:
            self.add(change.at, "alarm", v.scope, v.text, code=v.code.value)
        elif change.cleared is not None:
            self.add(change.at, "cleared", v.scope, f"{change.cleared.code.value} over: {v.text}",
                     code=change.cleared.code.value)

    def drill(self, d: Drill, at: float, scope: str) -> None:
        parts = [f"{d.action} {d.result}: {d.old_master or '?'} -> {d.new_master or '?'}",
                 f"takeover {_ms(d.takeover_ms)} (theory {_ms(d.theory_ms)})", f"VIP {_ms(d.vip_ms)}"]
        if d.client_outage_ms is not None:
            parts.append(f"client outage {_ms(d.client_outage_ms)}")
        self.add(at, "drill", scope, ", ".join(parts), **d.to_json())


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f} ms"
