"""One VRRP instance's state machine, sans-I/O (RFC 3768 6.4 / RFC 5798 6.4, keepalived 2.x practice).

Every entry point takes `now` (seconds, any monotonic clock) and returns the outputs
(vrrptui.engine.outputs) in the order they must be carried out; the machine never
reads a clock, touches a socket or starts a thread. `get_timer()` says when to call
`handle_timer()` next: the Master_Down timer in BACKUP, the Adver timer in MASTER.

State changes all go through `_transition`, which writes down once the fixed order of
actions on entering and leaving MASTER (VIPs, gratuitous ARP, adverts, notify scripts).
Any state may follow any other; staying in the same state is a bug, reported as such.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from vrrptui.config.model import VrrpInstance, VrrpScript
from vrrptui.engine.checks import address_list_mismatch, check_advert, compare_addresses, expected_auth
from vrrptui.engine.commands import CommandError
from vrrptui.engine.ratelimit import LogLimiter, TokenBucket
from vrrptui.engine.outputs import (
    Action, AddVips, Counters, Dropped, LogLine, LowerPriorityGratuitous, Output, Reason, RemoveVips, RunNotify,
    SendAdvert, StartGratuitous, State, StateChanged, StopGratuitous,
)
from vrrptui.engine.status import InstanceStatus, machine_status
from vrrptui.engine.tracking import PRIORITY_MAX_BACKUP, PRIORITY_OWNER, Tracking
from vrrptui.protocol import timers
from vrrptui.protocol.packet import Advert, ChecksumForm, DropReason, IPAddress

LOG_RATE_LIMIT = 10.0  # seconds between two receive-error lines of one reason (any source: floods come from many)
REPLY_BURST = 3  # a master answers lower-priority / priority-0 adverts at once, this many in a row,
# then one per advert interval: a flood of them cannot make it send more than that

# Enum members the per-advert path reads, as globals: on Python 3.11 `State.BACKUP` goes through
# EnumType.__getattr__'s slot (about 150 ns a time), a global is a cached load
_INIT, _BACKUP, _TIMEOUT, _PSEUDO = State.INIT, State.BACKUP, Reason.TIMEOUT, ChecksumForm.PSEUDO

# keepalived's notify argument for the state entered; INIT after start means stopped.
_NOTIFY = {State.MASTER: "MASTER", State.BACKUP: "BACKUP", State.FAULT: "FAULT", State.INIT: "STOP"}

# Holds an operator can put on an instance, each until resume(); the first two keep it from taking over,
# HOLD_FORCED keeps it MASTER at priority 254 (any master but an owner or a 254 with a higher address yields).
HOLD_DEMOTED, HOLD_FAILED, HOLD_FORCED, HOLD_PRIORITY = "demoted", "failed", "forced", "priority"


class VrrpMachine:
    """The state of one `vrrp_instance`: Initialize, Backup, Master, Fault."""

    def __init__(
        self,
        instance: VrrpInstance,
        primary_address: IPAddress,
        *,
        scripts: Mapping[str, VrrpScript] | None = None,
        check_unicast_src: bool = False,
        urgent: Callable[[Action], None] | None = None,
    ) -> None:
        self.instance = instance
        self._urgent = urgent  # takes a transition's network actions at once (Engine's `urgent`)
        self.name = instance.name
        self._advertised = tuple(v.address for v in instance.advertised_vips)  # checked per advert
        self._ipv4 = instance.family == 4  # adverts reach the machine of their own family only
        # (advert, src, ttl, unicast, address-list mismatch) of the last advert that passed the checks
        self._last_passed: tuple[Advert, IPAddress, int, bool, str | None] | None = None
        self.primary_address = primary_address
        self.check_unicast_src = check_unicast_src
        self.tracking = Tracking(instance, scripts or {})
        self.counters = Counters()
        self.state = State.INIT
        self.state_since = 0.0
        self.last_transition = ""
        self.last_reason: Reason | None = None
        # keepalived clears nopreempt / preempt_delay with `state MASTER`, and nopreempt for an owner
        starts_master = instance.initial_state == "MASTER" or instance.owner
        self.preempt = not instance.nopreempt or starts_master
        self.preempt_delay = 0.0 if starts_master else instance.preempt_delay
        self.effective_priority = instance.priority
        self.priority_reason = ""
        self.master_adver_int = instance.advert_int  # v3: learned from the master while BACKUP
        self.master_address: IPAddress | None = None
        self.master_priority: int | None = None
        self.held: str | None = None
        self._operator_priority: int | None = None
        self._group_fault = False
        self._deadline: float | None = None
        self._preempt_not_before: float | None = None
        self._takeover_reason = Reason.TIMEOUT
        self._stopped = False
        self._start_waits = False  # start() came while a weight-0 script had not run: INIT until it has
        self._log_limit = LogLimiter(LOG_RATE_LIMIT)
        self._replies = TokenBucket(1.0 / instance.advert_int, REPLY_BURST)
        self._out: list[Output] = []
        self._recompute_priority(log=False)

    # --- derived values --------------------------------------------------------

    @property
    def owner(self) -> bool:
        """RFC 5798 1.6: priority 255, the address owner (an operator override ends it)."""
        return self.instance.owner and self._operator_priority is None

    @property
    def skew_time(self) -> float:
        return timers.skew_time(self.instance.version, self.effective_priority, self.master_adver_int)

    @property
    def master_down_interval(self) -> float:
        return timers.master_down_interval(self.instance.version, self.effective_priority, self.master_adver_int)

    @property
    def minimum_skew(self) -> float:
        """keepalived's VRRP_TIMER_SKEW_MIN: the skew of priority 255."""
        return timers.skew_time(self.instance.version, PRIORITY_OWNER, self.master_adver_int)

    @property
    def _forced_priority(self) -> int:
        return PRIORITY_OWNER if self.owner else PRIORITY_MAX_BACKUP

    @property
    def may_take_over(self) -> bool:
        return self.held not in (HOLD_DEMOTED, HOLD_FAILED)

    def get_timer(self) -> float | None:
        return self._deadline

    def advert(self, priority: int | None = None) -> Advert:
        """The advert this instance sends (priority defaults to the effective one)."""
        inst = self.instance
        auth_type, auth_data = expected_auth(inst) if inst.version == 2 else (0, b"")
        return Advert(
            version=inst.version,
            vrid=inst.vrid,
            priority=self.effective_priority if priority is None else priority,
            max_advert_int=inst.advert_int,
            addresses=tuple(v.address for v in inst.advertised_vips),
            auth_type=auth_type,
            auth_data=auth_data,
        )

    # --- entry points ------------------------------------------------------------

    def start(self, now: float) -> list[Output]:
        """Leave Initialize (RFC 5798 6.4.1): owner -> MASTER, else BACKUP, or FAULT."""
        if self.state is not State.INIT or self._stopped:
            return []
        self.state_since = now
        self._recompute_priority(log=False)
        if self.tracking.awaiting_scripts():  # keepalived leaves INIT once such a script has a first result
            self._start_waits = True
            return self._flush()
        self._start_waits = False
        if self.preempt_delay:
            self._preempt_not_before = now + self.preempt_delay
        if self._fault_reasons():
            self._transition(State.FAULT, self._fault_reason(), now, ", ".join(self._fault_reasons()))
        elif self.owner:
            self._transition(State.MASTER, Reason.OWNER, now)
        else:
            # `state MASTER` too: keepalived 2.2.7 waits the whole Master_Down_Interval for a better master
            # (3.41 s at advert_int 1, priority 150; measured), as RFC 5798 6.4.1 has a backup do
            self._transition(State.BACKUP, Reason.STARTUP, now)
        return self._flush()

    def receive(self, advert: Advert, src: IPAddress, ttl: int, unicast: bool, now: float) -> list[Output]:
        """A decoded advert for this instance's VRID (IP TTL / hop limit, unicast or multicast)."""
        if self.state is _INIT:
            return []
        self.counters.adverts_received += 1
        if advert.version == 3 and self._ipv4:
            if advert.checksum_form is _PSEUDO:
                self.counters.checksum_pseudo += 1
            else:
                self.counters.checksum_message += 1
        seen = self._last_passed
        if seen is not None and seen[0] is advert and (seen[1] is src or seen[1] == src) and seen[2] == ttl \
                and seen[3] == unicast:
            # the advert the master sent last time (decode() returns the same object for the same
            # bytes), from the same source, already passed every check: the checks are pure
            failed, mismatch = None, seen[4]
        else:
            failed = check_advert(self.instance, advert, src, ttl, unicast, self.check_unicast_src)
            mismatch = None if failed else address_list_mismatch(self.instance, self._advertised, advert, src)
            self._last_passed = None if failed else (advert, src, ttl, unicast, mismatch)
        if failed is None and advert.priority == PRIORITY_OWNER and self.owner and self.state is State.MASTER:
            # RFC 5798 1.6: the owner's priority is final; another "owner" is a misconfiguration or a spoof
            failed = DropReason.OWNER_CONFLICT, f"advert from {src} claims priority 255 but we own the addresses"
        if failed is not None:
            self._drop(failed[0], src, now, failed[1])
            return self._flush()
        if mismatch is not None:
            # RFC 5798 7.1: counted and logged, the advert is still used
            self.counters.drops[DropReason.ADDRESS_LIST.value] += 1
            self._log_limited(DropReason.ADDRESS_LIST, now, mismatch)
        if advert.priority == 0:
            self.counters.priority_zero_received += 1
        if self.state is _BACKUP:
            self._backup_rx(advert, src, now)
        elif self.state is State.MASTER:
            self._master_rx(advert, src, now)
        else:  # FAULT: keep track of who is master, nothing else
            self.master_address, self.master_priority = src, advert.priority
        return self._flush()

    def note_drop(self, reason: DropReason, src: IPAddress | None, now: float, text: str) -> list[Output]:
        """A packet for this instance that the codec already refused (checksum, length, ...)."""
        self.counters.adverts_received += 1
        self._drop(reason, src, now, text)
        return self._flush()

    def handle_timer(self, now: float) -> list[Output]:
        if self._deadline is None or now < self._deadline:
            return []
        if self.state is State.MASTER:
            self._send(self.effective_priority)
            self._deadline = now + self.instance.advert_int
        elif self.state is State.BACKUP:
            self._deadline = None
            if self.may_take_over:
                # the segment first: the VIPs, advert and first GARPs before anything else (to `urgent` when the
                # runtime gave one, so that they leave before the rest of the transition is even worked out)
                self._takeover_actions(self._urgent or self._emit,
                                       vips_first=self._takeover_reason is not Reason.PREEMPTED)
                self._log("Receive advertisement timeout")
                self._transition(State.MASTER, self._takeover_reason, now, actions_sent=True)
        else:
            self._deadline = None
        return self._flush()

    def set_primary_address(self, address: IPAddress, now: float) -> list[Output]:
        """The interface's primary address changed (RFC 5798 5.1.1.2: adverts come from it)."""
        if address == self.primary_address:
            return []
        old, self.primary_address = self.primary_address, address
        self._log(f"source address changed from {old} to {address}")
        if self.state is State.MASTER:
            self.master_address = address
        return self._flush()

    # --- trackers ----------------------------------------------------------------

    def interface_state(self, ifname: str, up: bool, now: float) -> list[Output]:
        if self.tracking.set_interface(ifname, up):
            self._trackers_changed(now)
        return self._flush()

    def address_state(self, present: bool, now: float) -> list[Output]:
        """No address left to send adverts from: FAULT, and a master resigns with a priority-0 advert (from the
        address it just lost; to `urgent` first) so the backup takes over after Skew_Time, as keepalived does."""
        if self.tracking.set_address(present):
            urgent = self._urgent if not present and self.state is State.MASTER and self.tracking.link_up else None
            if urgent is not None:
                urgent(resigned := SendAdvert(self.name, 0))
            self._trackers_changed(now)
            if urgent is not None and resigned in self._out:  # counted with the FAULT, sent already
                self._out.remove(resigned)
        return self._flush()

    def script_state(self, name: str, ok: bool, now: float) -> list[Output]:
        if self.tracking.set_script(name, ok):
            if self._start_waits:
                return self._still_starting(now)
            self._trackers_changed(now)
        return self._flush()

    def tracked_state(self, kind: str, name: str, value: int, now: float) -> list[Output]:
        if self.tracking.set_tracked(kind, name, value):
            self._trackers_changed(now)
        return self._flush()

    def disable_script(self, name: str, now: float) -> list[Output]:
        """The script will never run (insecure): its tracker goes, with its weight and any FAULT it caused."""
        if self.tracking.drop_script(name):
            if self.state is State.INIT:
                return self._still_starting(now)
            self._trackers_changed(now)
        return self._flush()

    def _still_starting(self, now: float) -> list[Output]:
        """A tracker changed in INIT: the priority follows, and a start() held for a weight-0 script's first
        result goes on once none is awaited."""
        self._recompute_priority(log=False)
        if self._start_waits and not self.tracking.awaiting_scripts():
            return self.start(now)
        return self._flush()

    def set_group_fault(self, active: bool, now: float) -> list[Output]:
        """Sync group: another member is in FAULT (keepalived moves the whole group)."""
        if active != self._group_fault:
            self._group_fault = active
            self._update_fault(now, recovered=Reason.SYNC_GROUP)
        return self._flush()

    @property
    def own_fault(self) -> bool:
        return bool(self.tracking.faults())

    def sync_master(self, now: float) -> list[Output]:
        """Sync group: another member became MASTER."""
        if self.state is State.BACKUP and self.may_take_over:
            self._deadline = None
            self._transition(State.MASTER, Reason.SYNC_GROUP, now)
        return self._flush()

    def sync_backup(self, now: float) -> list[Output]:
        """Sync group: another member left MASTER for BACKUP; resign so our peers take over at once."""
        if self.state is State.MASTER:
            self._transition(State.BACKUP, Reason.SYNC_GROUP, now, resign=True)
        return self._flush()

    # --- operator ----------------------------------------------------------------

    def set_priority(self, priority: int, now: float) -> list[Output]:
        """Operator priority (1..254, checked by Engine.command), held until resume()."""
        self._operator_priority = priority
        self.held = HOLD_PRIORITY if self.held is None else self.held
        self._log(f"operator set priority {priority}")
        self._recompute_priority()
        return self._flush()

    def demote(self, now: float) -> list[Output]:
        """Resign now (priority-0 advert) and stay BACKUP until resume()."""
        self.held = HOLD_DEMOTED
        self._log("operator demote: holding BACKUP until resume")
        if self.state is State.MASTER:
            self._transition(State.BACKUP, Reason.OPERATOR, now, "demoted", resign=True)
        if self.state is State.BACKUP:
            self._deadline = None
        return self._flush()

    def failover(self, now: float) -> list[Output]:
        """MASTER: go silent as if dead (no priority 0), VIPs removed, hold BACKUP. BACKUP: take over now."""
        if self.state is State.MASTER:
            self.held = HOLD_FAILED
            self._log("operator forced failover: silent, holding BACKUP until resume")
            self._transition(State.BACKUP, Reason.OPERATOR, now, "forced failover")
            self._deadline = None
        elif self.state is State.BACKUP:
            self.held = HOLD_FORCED
            self._log(f"operator forced takeover: MASTER at priority {self._forced_priority} until resume")
            self._recompute_priority()
            self._deadline = None
            self._transition(State.MASTER, Reason.OPERATOR, now, "forced takeover")
        else:
            raise CommandError(
                f"{self.name} is {self.state.value} ({', '.join(self._fault_reasons()) or 'not running'}): "
                "only a MASTER or BACKUP instance can fail over; clear the fault first"
            )
        return self._flush()

    def resume(self, now: float) -> list[Output]:
        """Drop operator holds and overrides: configured priority, normal election."""
        self.held = None
        self._operator_priority = None
        self._log("operator resume: configured priority and normal election")
        self._recompute_priority()
        if self.state is State.BACKUP and self._deadline is None:
            self._deadline = now + self.master_down_interval
        return self._flush()

    # --- lifecycle ---------------------------------------------------------------

    def shutdown(self, now: float, reason: Reason = Reason.SHUTDOWN) -> list[Output]:
        """Stop: a MASTER sends priority 0 and removes its VIPs (RFC 5798 6.4.3); notify STOP."""
        if self._stopped:
            return []
        self._stopped = True
        if self.state is not State.INIT:
            self._transition(State.INIT, reason, now, resign=True)
        self._deadline = None
        return self._flush()

    def status(self, now: float) -> InstanceStatus:
        return machine_status(self, now)

    # --- receiving, per state (RFC 5798 6.4.2 / 6.4.3) ---------------------------

    def _backup_rx(self, advert: Advert, src: IPAddress, now: float) -> None:
        self.master_address = src
        if advert.priority == 0:
            # RFC 5798 6.4.2: the master resigned; take over after Skew_Time
            self.master_priority = 0
            self._log_limited("priority_zero", now, "Backup received priority 0 advertisement", "info",
                              detail=True)
            if self.may_take_over:
                self._deadline = now + self.skew_time
                self._takeover_reason = Reason.PRIORITY_ZERO
            return
        self.master_priority = advert.priority
        lower = advert.priority < self.effective_priority
        if lower and self.preempt and not self._preempt_held_off(now):
            # RFC 5798 6.4.2: lower priority with preemption: let the down timer run out
            self._log_limited("lower_priority", now,
                              f"received lower priority ({advert.priority}) advert from {src} - discarding", "info",
                              detail=True)
            self._takeover_reason = Reason.PREEMPTED
            return
        if not lower and self._preempt_not_before is not None and self.preempt_delay:
            self._preempt_not_before = None  # keepalived: a better master stops the preempt delay
        if advert.max_advert_int != self.master_adver_int:
            self._adopt_interval(advert)
        if self.may_take_over:
            self._deadline = now + self.master_down_interval
        self._takeover_reason = _TIMEOUT

    def _preempt_held_off(self, now: float) -> bool:
        """preempt_delay: preemption waits this long after start or after first seeing a lower master."""
        if not self.preempt_delay:
            return False
        if self._preempt_not_before is None:
            self._preempt_not_before = now + self.preempt_delay
            self._log(f"start preempt delay ({self.preempt_delay:g})", detail=True)
        return now < self._preempt_not_before

    def _adopt_interval(self, advert: Advert) -> None:
        # RFC 5798 6.4.2: a v3 backup sets Master_Adver_Interval from the advert
        if self.instance.version == 3 and advert.max_advert_int != self.master_adver_int:
            self._log(  # keepalived 2.2.7's words (measured)
                f"advertisement interval updated from {round(self.master_adver_int * 1000)}ms to "
                f"{round(advert.max_advert_int * 1000)}ms by master"
            )
            self.master_adver_int = advert.max_advert_int

    def _master_rx(self, advert: Advert, src: IPAddress, now: float) -> None:
        ours = self.effective_priority
        if advert.priority == 0:
            # RFC 5798 6.4.3: answer at once and restart the Adver timer (at a bounded rate)
            self._log_limited("priority_zero", now, "Master received priority 0 or lower priority advert", "info")
            if self._may_answer(now):
                self._send(ours)
                self._deadline = now + self.instance.advert_int
            return
        address_order = compare_addresses(src, self.primary_address)
        if advert.priority == ours and address_order == 0:
            self._log_limited("own_address", now,
                              "WARNING - equal priority advert received from remote host with our IP address.")
            return
        if advert.priority < ours or (advert.priority == ours and address_order < 0):
            self._lower_priority_master(advert, src, ours, now)
            return
        # the VIPs first (before our advert, logs, notify): the winner adds its own as its advert leaves
        if self._urgent is not None:
            self._urgent(RemoveVips(self.name))
        else:
            self._emit(RemoveVips(self.name))
        if self.instance.higher_prio_send_advert:
            # keepalived: one advert of ours, so the winner (lower priority to it) re-sends its GARPs
            self._send(ours)
        if advert.priority > ours:
            self._log(f"Master received advert from {src} with higher priority {advert.priority}, ours {ours}")
        else:
            self._log(f"Master received advert from {src} with same priority {advert.priority}"
                      " but higher IP address than ours")
        self.master_address, self.master_priority = src, advert.priority
        self._transition(State.BACKUP, Reason.HIGHER_PRIORITY, now, f"advert from {src} priority {advert.priority}",
                         vips_removed=True)
        self._adopt_interval(advert)
        self._deadline = now + self.master_down_interval if self.may_take_over else None

    def _lower_priority_master(self, advert: Advert, src: IPAddress, ours: int, now: float) -> None:
        """Another master with lower priority (after a partition, or a backup that lost our adverts).

        The answer (advert, GARPs, notify script) is rate-limited (REPLY_BURST, then one per
        interval): a flood of spoofed lower-priority adverts cannot turn into a flood of ours.
        """
        inst = self.instance
        election = "" if inst.lower_prio_no_advert else ", forcing new election"
        self._log_limited("lower_priority", now,
                          f"Received advert from {src} with lower priority {advert.priority}, ours {ours}{election}",
                          "info")
        if not self._may_answer(now):
            return
        if not inst.lower_prio_no_advert:
            self._send(ours)  # answered at once so it steps down
        if inst.garp_lower_prio_repeat:
            # clients may have followed its GARPs: point them back here
            self._emit(LowerPriorityGratuitous(self.name))
        self._emit(RunNotify(self.name, "MASTER_RX_LOWER_PRI", ours))

    # --- trackers and faults -----------------------------------------------------

    def _trackers_changed(self, now: float) -> None:
        self._recompute_priority()
        self._update_fault(now)

    def _recompute_priority(self, log: bool = True) -> None:
        base = self._operator_priority if self._operator_priority is not None else self.instance.priority
        priority, reason = self.tracking.effective_priority(base, self.owner)
        if self.held == HOLD_FORCED:
            priority, reason = self._forced_priority, "operator forced takeover"
        elif self._operator_priority is not None:
            reason = "operator" + (f", {reason}" if reason else "")
        if log and priority != self.effective_priority:
            self._log(f"Changing effective priority from {self.effective_priority} to {priority}")
            if self.instance.notify_priority_changes:  # keepalived: FIFO only, BACKUP_PRIORITY unless MASTER
                event = "MASTER_PRIORITY" if self.state is State.MASTER else "BACKUP_PRIORITY"
                self._emit(RunNotify(self.name, event, priority))
        self.effective_priority, self.priority_reason = priority, reason

    def _fault_reasons(self) -> list[str]:
        reasons = self.tracking.faults()
        if self._group_fault:
            reasons.append("sync group member in FAULT")
        return reasons

    def _fault_reason(self) -> Reason:
        return Reason.FAULT if self.tracking.faults() else Reason.SYNC_GROUP

    def _update_fault(self, now: float, recovered: Reason = Reason.RECOVERED) -> None:
        if self.state is State.INIT:
            return
        reasons = self._fault_reasons()
        if reasons and self.state is not State.FAULT:
            self._transition(
                State.FAULT, self._fault_reason(), now, ", ".join(reasons), resign=self.tracking.link_up
            )
        elif not reasons and self.state is State.FAULT:
            if self.owner and self.may_take_over:
                self._transition(State.MASTER, recovered, now)
            else:
                self._transition(State.BACKUP, recovered, now)
                if self.preempt_delay:  # keepalived starts the preempt delay again on leaving FAULT
                    self._preempt_not_before = now + self.preempt_delay
                    self._log(f"start preempt delay ({self.preempt_delay:g})", detail=True)

    # --- transitions ---------------------------------------------------------------

    def _transition(self, new: State, reason: Reason, now: float, detail: str = "", resign: bool = False,
                    vips_removed: bool = False, actions_sent: bool = False) -> None:
        old = self.state
        if new is old:
            raise RuntimeError(f"{self.name}: no VRRP transition from {old.value} to {new.value} ({reason.value})")
        self.state = new
        self.state_since = now
        self.last_transition = f"{old.value} -> {new.value}"
        self.last_reason = reason
        if new is not State.INIT:
            # keepalived marks only the start-up BACKUP entry "(init)"; an owner simply enters MASTER
            init = old is State.INIT and new is State.BACKUP
            self._log(f"Entering {new.value} STATE" + (" (init)" if init else ""))
        self._emit(StateChanged(self.name, old, new, reason, now, detail))
        if old is State.MASTER:
            self._leave_master(resign, vips_removed)
        self._deadline = None
        if new is State.MASTER:
            self._enter_master(now, actions_sent)
        elif new is State.BACKUP:
            self._takeover_reason = Reason.TIMEOUT
            if self.may_take_over:
                self._deadline = now + self.master_down_interval
        self._emit(RunNotify(self.name, _NOTIFY[new], self.effective_priority))

    def _enter_master(self, now: float, actions_sent: bool = False) -> None:
        # Unless a timeout sent them already (ACTIONS_SENT, see _takeover_actions), as keepalived: the advert,
        # then the VIPs, then the GARP/NA burst, back to back.
        self.counters.became_master += 1
        if self.master_adver_int != self.instance.advert_int:
            self._log(f"changing advert interval from {round(self.master_adver_int * 1000)}ms to locally "
                      f"configured {round(self.instance.advert_int * 1000)}ms")
        self.master_adver_int = self.instance.advert_int
        self.master_address, self.master_priority = self.primary_address, self.effective_priority
        self._log("setting VIPs.")
        if not actions_sent:
            self._takeover_actions(self._emit)
        for vip in self.instance.all_vips:
            kind = "gratuitous ARPs" if vip.family == 4 else "Unsolicited Neighbour Adverts"
            self._log(f"Sending/queueing {kind} on {self._vip_interface(vip.dev)} for {vip.address}", detail=True)
        self._deadline = now + self.instance.advert_int

    def _takeover_actions(self, act: Callable[[Action], None], vips_first: bool = False) -> None:
        """A new master's advert and VIPs, then its first GARPs / NAs, to ACT. VIPS_FIRST where nobody should
        hold them (the master resigned or fell silent): they are up for the first packet the advert and GARPs
        bring. Else (preempting a lower priority master, which holds them) the advert first: it lets go of
        them as ours go up."""
        if vips_first:
            act(AddVips(self.name))
        self._send(self.effective_priority, act)
        if not vips_first:
            act(AddVips(self.name))
        act(StartGratuitous(self.name))

    def _leave_master(self, resign: bool, vips_removed: bool = False) -> None:
        self.counters.released_master += 1
        if resign:
            self._send(0)
            self._log("sent 0 priority", detail=True)
        self._emit(StopGratuitous(self.name))
        self._log("removing VIPs.")
        if not vips_removed:
            self._emit(RemoveVips(self.name))
        self.master_adver_int = self.instance.advert_int
        if self.master_address == self.primary_address:
            self.master_address, self.master_priority = None, None

    def _vip_interface(self, dev: str | None) -> str:
        inst = self.instance
        return dev or (inst.vmac_interface if inst.use_vmac else (inst.interface or "?"))

    # --- output helpers ----------------------------------------------------------

    def _send(self, priority: int, act: Callable[[Action], None] | None = None) -> None:
        self.counters.adverts_sent += 1
        if priority == 0:
            self.counters.priority_zero_sent += 1
        (act or self._emit)(SendAdvert(self.name, priority))

    def _drop(self, reason: DropReason, src: IPAddress | None, now: float, text: str) -> None:
        self.counters.drops[reason.value] += 1
        self._emit(Dropped(self.name, reason, src, now, text))
        self._log_limited(reason, now, text)

    def _may_answer(self, now: float) -> bool:
        """Whether an advert may be answered now (REPLY_BURST, then one per interval); counts the ones not."""
        allowed = self._replies.take(now)
        self.counters.replies_limited += not allowed
        return allowed

    def _log_limited(self, key: DropReason | str, now: float, text: str, level: str = "warning",
                     detail: bool = False) -> None:
        """One line per `key` (a drop reason or a kind of line, whatever the source) per LOG_RATE_LIMIT s."""
        line = self._log_limit.text(key, now, text)
        if line is not None:
            self._log(line, detail=detail, level=level)

    def _log(self, text: str, detail: bool = False, level: str = "info") -> None:
        self._emit(LogLine(f"({self.name}) {text}", detail=detail, level=level))

    def _emit(self, output: Output) -> None:
        self._out.append(output)

    def _flush(self) -> list[Output]:
        out, self._out = self._out, []
        return out
