"""Observation records: what the daemon layer hands the console, defined below both.

One VRRP packet is one `Heard`, built once, from the engine's one decode, where it was
received (the runtime, or the capture of `vrrptui sniff`) or sent (`outgoing`, with the
advert the engine encoded), and carried as is to the console's models and advert log.

The runtime calls its `observer` on its loop thread with tuples of: Heard, the engine's
StateChanged and Dropped events (vrrptui.engine.outputs, as they are), RuntimeNote and a
StatusSnapshot about every 100 ms. The runtime's log lines (LogLine) reach the console by
the log, not the observer. Times `at` are the engine's clock (`loop.time()`, monotonic);
StatusSnapshot.wall - at turns one into epoch seconds. The observer must not block: post
a message to the UI and return.

Also here: the VIP prober's events, the host's statistics and the drills the console runs.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import NamedTuple

from vrrptui.engine.outputs import Dropped, StateChanged
from vrrptui.engine.status import InstanceStatus
from vrrptui.protocol.packet import Advert, Drop, IPAddress


@dataclass(frozen=True, slots=True)
class StatusSnapshot:
    at: float
    wall: float  # epoch seconds matching `at`
    instances: tuple[InstanceStatus, ...]


@dataclass(frozen=True, slots=True)
class RuntimeNote:
    """Something the runtime did that the engine does not report (VIP added, GARP burst, reload...)."""

    at: float
    instance: str | None
    text: str


# --- what the VIP prober (vrrptui.net.prober) reports -------------------------------------

class ProbeSent(NamedTuple):
    vip: str
    at: float


class Claim(NamedTuple):
    vip: str
    mac: str
    at: float
    kind: str  # "reply" | "announce"


class LocalPresence(NamedTuple):
    vip: str
    present: bool
    at: float


ProbeEvent = ProbeSent | Claim | LocalPresence


# --- the host the console runs on (vrrptui.daemon.hoststats) ------------------------------

@dataclass(frozen=True, slots=True)
class OtherDaemon:
    pid: int
    name: str
    cmdline: str
    same_netns: bool  # shares our network namespace: it can fight us for the VIPs

    def __str__(self) -> str:
        where = "" if self.same_netns else " (other netns)"
        return f"{self.name}[{self.pid}]{where}"


@dataclass(frozen=True, slots=True)
class HostStats:
    hostname: str
    cpu_percent: float  # of one core
    rss_bytes: int
    others: tuple[OtherDaemon, ...]

    @property
    def warning(self) -> str | None:
        rivals = [o for o in self.others if o.same_netns]
        if not rivals:
            return None
        return "another VRRP daemon runs here: " + ", ".join(map(str, rivals))


# --- VRRP packets as the console's models take them -----------------------------------------

class RouterKey(NamedTuple):
    """A virtual router on a segment: VRIDs are per interface and per family (RFC 5798 5.2.3)."""

    ifname: str
    vrid: int
    family: int

    def __str__(self) -> str:
        return f"{self.ifname} vrid {self.vrid} IPv{self.family}"


@dataclass(frozen=True, slots=True)
class Heard:
    """A received (or, with `outgoing`, our own) VRRP packet and what decode() made of it."""

    ifname: str
    at: float  # monotonic seconds, the capture time
    src: IPAddress
    dst: IPAddress
    ttl: int
    result: Advert | Drop
    payload: bytes = b""
    src_mac: str | None = None
    outgoing: bool = False

    @property
    def vrid(self) -> int | None:
        """The VRID even of a dropped packet (byte 1 of the message), None when too short."""
        if isinstance(self.result, Advert):
            return self.result.vrid
        return self.payload[1] if len(self.payload) >= 2 else None

    @property
    def key(self) -> RouterKey | None:
        vrid = self.vrid
        return None if vrid is None else RouterKey(self.ifname, vrid, self.src.version)


# --- drills (vrrptui.observe.drills runs them, vrrptui.daemon.drillfile keeps them) --------------

@dataclass(frozen=True, slots=True)
class Drill:
    """One drill. Times are monotonic seconds (`started` is wall clock, ISO 8601)."""

    action: str  # demote | failover
    instance: str
    interface: str
    vrid: int
    family: int
    started: str
    acted_at: float
    old_master: str | None
    new_master: str | None = None
    new_master_first_advert_at: float | None = None
    vip_answered_at: float | None = None
    vip_answered_by: str | None = None  # MAC
    adverts_missed: int | None = None
    takeover_ms: float | None = None  # acted -> new master's first advert
    vip_ms: float | None = None  # acted -> VIP answered from the new owner
    result: str = "running"  # running | ok | incomplete
    old_last_advert_at: float | None = None  # the old master's last advert with priority > 0
    theory_ms: float | None = None  # acted -> new master's first advert as the RFC's timers have it
    client_outage_ms: float | None = None  # the lab client's longest time without a ping reply, beyond its interval

    @property
    def key(self) -> RouterKey:
        return RouterKey(self.interface, self.vrid, self.family)

    def to_json(self) -> dict:
        return asdict(self)


Observation = Heard | StateChanged | Dropped | RuntimeNote | StatusSnapshot
