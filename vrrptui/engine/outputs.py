"""What the sans-I/O engine hands back to whoever runs it (runtime, console, tests).

Actions ask the runtime to do something on the network or the host; events report
what happened (for logs, counters, the console). All immutable.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass, field

from vrrptui.protocol.packet import DropReason, IPAddress


class State(enum.Enum):
    INIT = "INIT"
    BACKUP = "BACKUP"
    MASTER = "MASTER"
    FAULT = "FAULT"


class Reason(enum.Enum):
    """Why a state changed. Values are what `status` and the console show."""

    STARTUP = "startup"
    TIMEOUT = "master down timer expired"  # no advert for Master_Down_Interval
    PREEMPTED = "preempted"  # we had higher priority than the master and took over
    HIGHER_PRIORITY = "higher priority seen"
    PRIORITY_ZERO = "priority 0 received"
    OWNER = "address owner"  # priority 255
    OPERATOR = "operator"
    FAULT = "fault"
    RECOVERED = "fault cleared"
    SYNC_GROUP = "sync group"
    SHUTDOWN = "shutdown"
    RELOAD = "reload"


# --- actions -----------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class SendAdvert:
    instance: str
    priority: int  # the priority to put in the advert (0 when resigning)


@dataclass(frozen=True, slots=True)
class AddVips:
    instance: str


@dataclass(frozen=True, slots=True)
class RemoveVips:
    instance: str


@dataclass(frozen=True, slots=True)
class StartGratuitous:
    """Begin keepalived's GARP / unsolicited NA schedule for the instance's VIPs."""

    instance: str


@dataclass(frozen=True, slots=True)
class LowerPriorityGratuitous:
    """A master heard a lower-priority master: garp_lower_prio_repeat GARPs / NAs now, as many after
    garp_lower_prio_delay (keepalived), so clients that followed the other master come back."""

    instance: str


@dataclass(frozen=True, slots=True)
class StopGratuitous:
    instance: str


@dataclass(frozen=True, slots=True)
class RunNotify:
    """notify_<state> and `notify` scripts (keepalived's INSTANCE name STATE priority)."""

    instance: str
    state: str  # MASTER, BACKUP, FAULT, STOP; MASTER_RX_LOWER_PRI (its own script only);
    # MASTER_PRIORITY / BACKUP_PRIORITY (notify_priority_changes: the FIFOs only)
    priority: int


@dataclass(frozen=True, slots=True)
class RunGroupNotify:
    """A vrrp_sync_group's notify_<state> and `notify` scripts (keepalived's GROUP name STATE 0)."""

    group: str
    state: str  # MASTER, BACKUP, FAULT, STOP


# --- events ------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class StateChanged:
    instance: str
    old: State
    new: State
    reason: Reason
    at: float
    detail: str = ""


@dataclass(frozen=True, slots=True)
class Dropped:
    instance: str | None  # None: no instance matched (unknown VRID, undecodable)
    reason: DropReason
    src: IPAddress | None
    at: float
    detail: str = ""


@dataclass(frozen=True, slots=True)
class LogLine:
    """A keepalived-2.x-worded log line, e.g. "(VI_1) Entering MASTER STATE".

    `detail` lines are printed only with --log-detail (keepalived's -D).
    """

    text: str
    detail: bool = False
    level: str = "info"  # info, warning, error


LogFn = Callable[[LogLine], None]  # where log lines go (the console, stderr/syslog, a test's list)

Action = (SendAdvert | AddVips | RemoveVips | StartGratuitous | LowerPriorityGratuitous | StopGratuitous | RunNotify
          | RunGroupNotify)
Event = StateChanged | Dropped | LogLine
Output = Action | Event


@dataclass(slots=True)
class Counters:
    """Per-instance counters (RFC 8347 / show vrrp). Mutable inside the engine; copied into snapshots."""

    adverts_sent: int = 0
    adverts_received: int = 0
    became_master: int = 0
    released_master: int = 0
    priority_zero_sent: int = 0
    priority_zero_received: int = 0
    checksum_pseudo: int = 0  # adverts received using each v3/IPv4 checksum form
    checksum_message: int = 0
    replies_limited: int = 0  # lower-priority / priority-0 adverts a master did not answer at once (rate)
    drops: dict[str, int] = field(default_factory=lambda: {r.value: 0 for r in DropReason})

    def copy(self) -> Counters:
        c = Counters(**{k: getattr(self, k) for k in self.__slots__ if k != "drops"})
        c.drops = dict(self.drops)
        return c
