"""Tracked interfaces and scripts of one instance: faults and the effective priority.

keepalived's rules (vrrp_track.c): a tracker with weight 0 puts the instance in FAULT
while it is down/failing; a positive weight is added while up/OK, a negative one while
down/failing (`reverse` flips the sign). A script that has not run yet adds nothing, and
one of weight 0 keeps its instance in INIT until it has. The sum is clamped to 1..254. An address owner
(priority 255) ignores weighted trackers, as keepalived does ("ignoring tracked script
chk with weights due to address_owner").
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from vrrptui.config.model import VrrpInstance, VrrpScript

PRIORITY_OWNER = 255
PRIORITY_MIN = 1
PRIORITY_MAX_BACKUP = 254


FILE_FAULT_BELOW = -253  # track_file: value * weight below this means FAULT (keepalived.conf(5))


@dataclass(slots=True)
class Tracker:
    kind: Literal["interface", "script", "file", "process"]
    name: str
    weight: int  # signed, `reverse` already applied
    up: bool = True  # interface up / script OK / file value 0
    value: int = 0  # track_file: the number in the file
    pending: bool = False  # a script that has not run yet (keepalived's INIT): no weight, and weight 0 waits
    reverse: bool = False  # `up` is the opposite of the real state (weight already negated): up counts as down
    held: int = 0  # track_file: its contribution before a value put the instance in FAULT (keepalived keeps it)

    @property
    def faulting(self) -> bool:
        if self.kind == "file" and self.weight:
            return self.weight * self.value < FILE_FAULT_BELOW
        return self.weight == 0 and not self.up and not self.pending

    @property
    def contribution(self) -> int:
        if self.kind == "file":
            return self.held if self.faulting else min(self.weight * self.value, -FILE_FAULT_BELOW)
        if self.pending:
            return 0
        if self.weight > 0 and self.up:
            return self.weight
        if self.weight < 0 and not self.up:
            return self.weight
        return 0

    @property
    def condition(self) -> str:
        if self.kind == "file":
            return f"value {self.value}"
        real = self.up != self.reverse
        if self.kind == "process":
            return "running" if real else "not running"
        if self.kind == "interface":
            return "up" if real else "down"
        return "not run yet" if self.pending else "ok" if real else "failing"

    def describe(self) -> str:
        """E.g. "track_script chk_api failed (-20)", "track_interface eth1 down (fault)",
        "track_file f value 2 (-20)"."""
        state = "failed" if self.condition == "failing" else self.condition
        effect = "fault" if self.weight == 0 else f"{self.contribution:+d}"
        return f"track_{self.kind} {self.name} {state} ({effect})"


def script_outcome(ok: bool, exit_status: int | None = None, timed_out: bool = False) -> str:
    """keepalived 2.2.7's words after `VRRP_Script(name)` when a script changes state.

    `exit_status` is the child's return code as asyncio reports it (negative: killed by
    that signal). A timeout is only "timed_out", never also "failed".
    """
    if ok:
        return "succeeded"
    if timed_out:
        return "timed_out"
    if exit_status is not None and exit_status > 0:
        return f"failed (exited with status {exit_status})"
    if exit_status is not None and exit_status < 0:
        return f"failed (due to signal {-exit_status})"
    return "failed"


class Tracking:
    """The instance's own link plus its tracked interfaces and scripts."""

    def __init__(self, instance: VrrpInstance, scripts: Mapping[str, VrrpScript]) -> None:
        self.instance = instance
        self.link_up = True  # the instance's own interface
        self.vmac_up = True  # its VMAC (use_vmac): deleted or down, the VIPs have nowhere to live
        self.address_up = True  # its interface still has an address to send adverts from
        self.trackers: list[Tracker] = []
        # keepalived's `reverse` (vrrp_track.c): the weight's sign is turned round and it applies in the
        # opposite state: `weight 20 reverse` takes 20 off while the script succeeds, `weight 0 reverse` is a
        # FAULT while it succeeds (or while the interface is up, or the process's quorum is met)
        for ti in instance.track_interfaces:
            self.trackers.append(Tracker("interface", ti.name, -ti.weight if ti.reverse else ti.weight,
                                         not ti.reverse, reverse=ti.reverse))
        for ts in instance.track_scripts:
            script = scripts.get(ts.name)
            weight = ts.weight if ts.weight is not None else (script.weight if script else 0)
            reverse = ts.reverse if ts.reverse is not None else (script is not None and script.weight_reverse)
            if reverse:
                weight = -weight
            # keepalived: a script is in INIT until its first result, which counts at once whatever rise/fall
            # say; `init_fail` starts it failed instead (rise successes needed)
            init_fail = script is not None and script.init_fail
            self.trackers.append(Tracker("script", ts.name, weight, reverse, pending=not init_fail, reverse=reverse))
        for tf in instance.track_files:
            self.trackers.append(Tracker("file", tf.name, tf.weight))
        for tp in instance.track_processes:
            self.trackers.append(Tracker("process", tp.name, -tp.weight if tp.reverse else tp.weight, not tp.reverse,
                                         reverse=tp.reverse))

    def set_interface(self, ifname: str, up: bool) -> bool:
        """Record a link change; True when anything this instance tracks changed."""
        changed = False
        if ifname == self.instance.interface and not self.instance.dont_track_primary and self.link_up != up:
            self.link_up = up
            changed = True
        if self.instance.use_vmac and ifname == self.instance.vmac_interface and self.vmac_up != up:
            self.vmac_up = up
            changed = True
        for t in self.trackers:
            if t.kind == "interface" and t.name == ifname and t.up != (up != t.reverse):
                t.up = up != t.reverse
                changed = True
        return changed

    def set_address(self, present: bool) -> bool:
        """The interface gained or lost the address adverts come from; True when that changed."""
        if self.address_up == present:
            return False
        self.address_up = present
        return True

    def set_script(self, name: str, ok: bool) -> bool:
        changed = False
        for t in self.trackers:
            if t.kind == "script" and t.name == name and (t.up != (ok != t.reverse) or t.pending):
                t.up, t.pending = ok != t.reverse, False
                changed = True
        return changed

    def awaiting_scripts(self) -> bool:
        """A weight-0 script has not run yet: keepalived keeps the instance in INIT until it has."""
        return any(t.kind == "script" and t.pending and t.weight == 0 for t in self.trackers)

    def set_tracked(self, kind: str, name: str, value: int) -> bool:
        """A track_file's new value, or a vrrp_track_process's quorum (1 met, 0 not); True when one changed.
        A reversed process tracker's `up` is the quorum's opposite."""
        changed = False
        for t in self.trackers:
            if t.kind != kind or t.name != name:
                continue
            if kind == "file" and t.value != value:
                if not t.faulting:  # the priority a value beyond the FAULT line leaves, as keepalived's notify shows
                    t.held = t.contribution
                t.value, t.up = value, value == 0
                changed = True
            elif kind == "process" and t.up != (bool(value) != t.reverse):
                t.up = not t.up
                changed = True
        return changed

    def drop_script(self, name: str) -> bool:
        """Forget a script's trackers (refused as insecure: keepalived disables it); True if any went."""
        kept = [t for t in self.trackers if not (t.kind == "script" and t.name == name)]
        dropped = len(kept) != len(self.trackers)
        self.trackers = kept
        return dropped

    def faults(self) -> list[str]:
        """Why the instance must be in FAULT (empty: it need not be)."""
        found = [] if self.link_up else [f"interface {self.instance.interface} down"]
        if not self.vmac_up:
            found.append(f"VMAC {self.instance.vmac_interface} down")
        if not self.address_up:
            found.append(f"no IPv{self.instance.family} address on {self.instance.interface}")
        found += [t.describe() for t in self.trackers if t.faulting]
        return found

    def effective_priority(self, base: int, owner: bool) -> tuple[int, str]:
        """(priority to advertise, why it differs from `base`; "" when it does not)."""
        if owner:
            ignored = [t for t in self.trackers if t.weight != 0]
            return PRIORITY_OWNER, ("address owner: tracker weights ignored" if ignored else "")
        active = [t for t in self.trackers if t.contribution]
        total = base + sum(t.contribution for t in active)
        clamped = max(PRIORITY_MIN, min(PRIORITY_MAX_BACKUP, total))
        reason = ", ".join(t.describe() for t in active)
        if clamped != total:
            reason += f" (clamped from {total})"
        return clamped, reason

    def rows(self) -> tuple[tuple[str, str, int], ...]:
        return tuple((t.name, t.condition, t.weight) for t in self.trackers)
