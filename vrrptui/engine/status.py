"""Immutable per-instance status: what `vrrptui status`, the control socket and the console show."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from typing import Protocol

from vrrptui.config.model import VrrpInstance
from vrrptui.engine.outputs import Counters, Reason, State
from vrrptui.engine.tracking import Tracking
from vrrptui.protocol.packet import IPAddress


@dataclass(frozen=True, slots=True)
class InstanceStatus:
    name: str
    interface: str | None
    vrid: int
    version: int
    family: int
    state: str  # State.value
    state_since: float  # engine clock (monotonic) of the last transition
    configured_priority: int
    effective_priority: int
    priority_reason: str  # e.g. "track_script chk_api failed (-20)", "operator", "" when base
    primary_address: str  # our source address
    master_address: str | None  # us when MASTER; the last accepted master when BACKUP
    master_priority: int | None
    advert_int: float  # configured, seconds
    learned_advert_int: float | None  # v3 Master_Adver_Interval learned from the master
    skew_time: float
    master_down_interval: float
    master_down_at: float | None  # when the down timer fires (BACKUP), for a countdown
    preempt: bool
    preempt_delay: float
    last_transition: str  # "BACKUP -> MASTER"
    last_reason: str  # Reason.value
    vips: tuple[str, ...]
    vmac: str | None
    unicast_peers: tuple[str, ...]
    trackers: tuple[tuple[str, str, int], ...]  # (name, "up"/"down"/"ok"/"failing", weight)
    held: str | None  # operator hold: None, "demoted", "failed", "forced", "priority"
    counters: Counters

    def to_json(self) -> dict:
        d = asdict(self)
        d["counters"] = {**{k: getattr(self.counters, k) for k in self.counters.__slots__}}
        return d


class MachineView(Protocol):
    """What a status snapshot reads from a VrrpMachine (engine.machine imports this module)."""

    name: str
    instance: VrrpInstance
    state: State
    state_since: float
    effective_priority: int
    priority_reason: str
    primary_address: IPAddress
    master_address: IPAddress | None
    master_priority: int | None
    master_adver_int: float
    preempt: bool
    preempt_delay: float
    last_transition: str
    last_reason: Reason | None
    tracking: Tracking
    held: str | None
    counters: Counters

    @property
    def skew_time(self) -> float: ...

    @property
    def master_down_interval(self) -> float: ...

    def get_timer(self) -> float | None: ...


def machine_status(m: MachineView, now: float) -> InstanceStatus:
    """The snapshot of one machine that `vrrptui status`, the control socket and the console show."""
    inst = m.instance
    is_master = m.state is State.MASTER
    return InstanceStatus(
        name=m.name,
        interface=inst.interface,
        vrid=inst.vrid,
        version=inst.version,
        family=inst.family,
        state=m.state.value,
        state_since=m.state_since,
        configured_priority=inst.priority,
        effective_priority=m.effective_priority,
        priority_reason=m.priority_reason,
        primary_address=str(m.primary_address),
        master_address=str(m.primary_address if is_master else m.master_address)
        if (is_master or m.master_address is not None)
        else None,
        master_priority=m.effective_priority if is_master else m.master_priority,
        advert_int=inst.advert_int,
        learned_advert_int=m.master_adver_int if inst.version == 3 and not is_master else None,
        skew_time=m.skew_time,
        master_down_interval=m.master_down_interval,
        master_down_at=m.get_timer() if m.state is State.BACKUP else None,
        preempt=m.preempt,
        preempt_delay=m.preempt_delay,
        last_transition=m.last_transition,
        last_reason=m.last_reason.value if m.last_reason else "",
        vips=tuple(str(v) for v in inst.all_vips),
        vmac=inst.vmac_address if inst.use_vmac else None,
        unicast_peers=tuple(str(p.address) for p in inst.unicast_peers),
        trackers=m.tracking.rows(),
        held=m.held,
        counters=m.counters.copy(),
    )
