"""One verdict per virtual router, and the alarms raised and cleared as verdicts change.

Sans-I/O: `assess()` takes what the Session knows of a VRID (our instance's status, every
router heard, split brain) and `now`; `Alarms` remembers the previous verdicts and says
which alarms were raised or cleared. Worst first:

- `split brain`: two routers advertise as master at once (PeerTable.split_brain);
- `NO MASTER for 4.2 s`: no advert with priority > 0 for longer than any backup waits
  (Master_Down_Interval at priority 1, plus half an interval), said with why: the master
  resigned, froze (it still answers ARP / NS for the VIP but sends no adverts: `kill -STOP`)
  or went silent (dead or cut off), and whether this router is held; `all routers held`
  when this router is held and every other one resigned, so nobody will take over;
- `master silent`: the master missed adverts, a backup should take over soon;
- `peer config differs`: a router advertises another interval, VIPs, auth, version...;
- `backup silent`: this router is a backup held by the operator (demote, failover): it
  will not take over if the master fails. A backup is silent by design (RFC 5798 6.4.2),
  so a quiet non-master router is never an alarm; a quiet master is.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from collections.abc import Iterable, Sequence

from vrrptui.engine.status import InstanceStatus
from vrrptui.records import RouterKey
from vrrptui.protocol.timers import master_down_interval

MISSED_AFTER = 1.5  # advert intervals of silence before a master counts as late (timeline's `x`)


class Level(enum.IntEnum):
    OK = 0
    WARN = 1
    ALARM = 2


class Code(enum.Enum):
    """What a verdict is about (values are what the event history records)."""

    OK = "ok"
    STARTING = "starting"
    SPLIT_BRAIN = "split brain"
    NO_MASTER = "no master"
    ALL_HELD = "all routers held"
    MASTER_SILENT = "master silent"
    CONFIG_DIFFERS = "peer config differs"
    BACKUP_SILENT = "backup silent"


LEVEL = {Code.OK: Level.OK, Code.STARTING: Level.OK, Code.SPLIT_BRAIN: Level.ALARM, Code.NO_MASTER: Level.ALARM,
         Code.ALL_HELD: Level.ALARM, Code.MASTER_SILENT: Level.WARN, Code.CONFIG_DIFFERS: Level.WARN,
         Code.BACKUP_SILENT: Level.WARN}

SHORT = {Code.OK: "ok", Code.STARTING: "starting", Code.SPLIT_BRAIN: "SPLIT BRAIN", Code.NO_MASTER: "NO MASTER",
         Code.ALL_HELD: "NO MASTER", Code.MASTER_SILENT: "master late", Code.CONFIG_DIFFERS: "cfg differs",
         Code.BACKUP_SILENT: "no standby"}


@dataclass(frozen=True, slots=True)
class RouterSeen:
    """One router of the VRID as the wire showed it (our own adverts included, `local`)."""

    src: str
    local: bool
    priority: int | None  # of its last advert
    last_master_advert: float | None  # its last advert with priority > 0
    interval: float | None
    version: int | None
    mismatches: tuple[str, ...] = ()
    answers_vip: bool = False  # its MAC answered ARP / NS for a VIP of this VRID lately


@dataclass(frozen=True, slots=True)
class Verdict:
    key: RouterKey
    instance: str | None  # our instance for this VRID, None in sniff mode / VRIDs we do not run
    code: Code
    text: str  # the health cell and the banner: "NO MASTER for 4.2 s: master 192.168.1.12 frozen"
    since: float | None = None  # when the condition began (the last master advert, for NO MASTER)

    @property
    def level(self) -> Level:
        return LEVEL[self.code]

    @property
    def short(self) -> str:
        """The Health cell, at most 11 columns (the banner says the rest)."""
        return SHORT[self.code]

    @property
    def scope(self) -> str:
        return f"{self.instance} ({self.key})" if self.instance else str(self.key)


def silence_limit(version: int, interval: float) -> float:
    """Silence after which no backup is still waiting: the slowest backup's Master_Down_Interval
    (priority 1) plus half an interval of timer jitter."""
    return master_down_interval(version, 1, interval) + 0.5 * interval


def assess(key: RouterKey, now: float, *, instance: InstanceStatus | None, routers: Sequence[RouterSeen],
           split_brain: Sequence[str] = ()) -> Verdict:
    """The verdict for one virtual router (module docstring)."""
    name = instance.name if instance else None
    if split_brain:
        return Verdict(key, name, Code.SPLIT_BRAIN, f"split brain: masters {', '.join(split_brain)}")
    interval = _interval(instance, routers)
    version = instance.version if instance else next((r.version for r in routers if r.version), 3)
    masters = [r for r in routers if r.last_master_advert is not None]
    last = max(masters, key=lambda r: r.last_master_advert or 0.0) if masters else None
    we_master = instance is not None and instance.state == "MASTER"
    if not we_master:
        if last is None or last.last_master_advert is None:
            since = instance.state_since if instance else None
            if since is None or now - since <= silence_limit(version, interval):
                return Verdict(key, name, Code.STARTING, "no master heard yet")
            return _no_master(key, name, now, since, None, instance, routers)
        silent = now - last.last_master_advert
        if silent > silence_limit(version, interval):
            return _no_master(key, name, now, last.last_master_advert, last, instance, routers)
        if silent > MISSED_AFTER * interval and not last.local:
            return Verdict(key, name, Code.MASTER_SILENT,
                           f"master {last.src} silent {silent:.1f} s: takeover due", last.last_master_advert)
    differs = [r for r in routers if r.mismatches and not r.local]
    if differs:
        return Verdict(key, name, Code.CONFIG_DIFFERS, "peer config differs: " + "; ".join(
            f"{r.src} {','.join(r.mismatches)}" for r in differs))
    if instance is not None and instance.state == "BACKUP" and instance.held in ("demoted", "failed"):
        return Verdict(key, name, Code.BACKUP_SILENT,
                       f"backup silent: held ({instance.held}), no takeover if the master fails; r resumes")
    who = "this host" if we_master else (last.src if last else "?")
    return Verdict(key, name, Code.OK, f"ok: master {who}")


def _interval(instance: InstanceStatus | None, routers: Sequence[RouterSeen]) -> float:
    if instance is not None:
        return instance.learned_advert_int or instance.advert_int
    return max((r.interval for r in routers if r.interval), default=1.0)


def _no_master(key: RouterKey, name: str | None, now: float, since: float, last: RouterSeen | None,
               instance: InstanceStatus | None, routers: Sequence[RouterSeen]) -> Verdict:
    why = []
    if last is not None and not last.local:
        if last.priority == 0:
            why.append(f"master {last.src} resigned")
        elif last.answers_vip:
            why.append(f"master {last.src} frozen (answers ARP for the VIP, sends no adverts)")
        else:
            why.append(f"master {last.src} silent (dead or cut off)")
    held = instance is not None and (instance.held in ("demoted", "failed") or instance.state == "FAULT")
    others_resigned = all(r.priority in (0, None) for r in routers if not r.local)
    code = Code.NO_MASTER
    if held and others_resigned:
        code = Code.ALL_HELD
        why.append("all routers held")
    elif instance is not None and instance.state == "FAULT":
        why.append("this router FAULT")
    elif held and instance is not None:
        why.append(f"this router held ({instance.held}): r resumes")
    text = f"NO MASTER for {now - since:.1f} s" + (": " + ", ".join(why) if why else "")
    return Verdict(key, name, code, text, since)


@dataclass(frozen=True, slots=True)
class AlarmChange:
    """An alarm raised (`verdict` not OK) or cleared (`verdict` OK again, `cleared` the old one)."""

    at: float
    verdict: Verdict
    cleared: Verdict | None = None

    @property
    def raised(self) -> bool:
        return self.cleared is None

    def text(self) -> str:
        if self.cleared is None:
            return f"ALARM {self.verdict.scope}: {self.verdict.text}"
        return f"cleared {self.verdict.scope}: {self.cleared.code.value} over ({self.verdict.text})"


class Alarms:
    """Follows verdicts tick by tick; a change of code clears the old alarm (if any), raises the new one."""

    def __init__(self) -> None:
        self._codes: dict[RouterKey, Verdict] = {}

    def update(self, verdicts: Iterable[Verdict], now: float) -> list[AlarmChange]:
        changes = []
        seen = set()
        for v in verdicts:
            seen.add(v.key)
            old = self._codes.get(v.key)
            self._codes[v.key] = v
            if old is not None and old.code is v.code:
                continue
            if old is not None and old.level > Level.OK:
                changes.append(AlarmChange(now, v, cleared=old))
            if v.level > Level.OK:
                changes.append(AlarmChange(now, v))
        for key in [k for k in self._codes if k not in seen]:
            del self._codes[key]
        return changes

    def verdict(self, key: RouterKey) -> Verdict | None:
        return self._codes.get(key)

    def active(self) -> list[Verdict]:
        """Verdicts that are not OK, worst first (what the banner shows)."""
        return sorted((v for v in self._codes.values() if v.level > Level.OK), key=lambda v: (-v.level, v.key))
