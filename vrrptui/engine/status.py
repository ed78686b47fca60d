"""Immutable per-instance status: what `vrrptui status`, the control socket and the console show."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from vrrptui.engine.outputs import Counters


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
    held: str | None  # operator hold: None, "demoted", "failed", "priority"
    counters: Counters

    def to_json(self) -> dict:
        d = asdict(self)
        d["counters"] = {**{k: getattr(self.counters, k) for k in self.counters.__slots__}}
        return d
