"""Fake-clock tests of VrrpMachine: one test per VRRP rule, exact deadlines, output order and log text."""

from __future__ import annotations

import ipaddress
from dataclasses import replace

import pytest

from vrrptui.config.model import (
    TrackInterface,
    VirtualAddress,
    VrrpInstance,
)
from vrrptui.engine.machine import VrrpMachine
from vrrptui.engine.outputs import (
    AddVips,
    Dropped,
    LogLine,
    Output,
    Reason,
    RemoveVips,
    RunNotify,
    SendAdvert,
    StartGratuitous,
    LowerPriorityGratuitous,
    State,
    StateChanged,
    StopGratuitous,
)
from vrrptui.protocol.packet import Advert

ME = ipaddress.IPv4Address("192.168.1.11")
PEER = ipaddress.IPv4Address("192.168.1.12")  # higher address than ours
LOW = ipaddress.IPv4Address("192.168.1.10")  # lower address than ours
EXACT = 1e-9

ACTIONS = (SendAdvert, AddVips, RemoveVips, StartGratuitous, LowerPriorityGratuitous, StopGratuitous, RunNotify)


# --- helpers -------------------------------------------------------------------------


def vip(text: str, dev: str | None = None) -> VirtualAddress:
    return VirtualAddress(ipaddress.ip_interface(text), dev=dev)


def instance(**overrides) -> VrrpInstance:
    base = VrrpInstance(name="VI_1", interface="eth0", vrid=51, virtual_ipaddresses=(vip("192.168.1.100/24"),))
    return replace(base, **overrides)


def v3_instance(**overrides) -> VrrpInstance:
    return instance(version=3, advert_int=0.1, **overrides)


def machine(inst: VrrpInstance | None = None, address=ME, **kwargs) -> VrrpMachine:
    return VrrpMachine(inst or instance(), address, **kwargs)


def advert_for(m: VrrpMachine, priority: int, **changes) -> Advert:
    """An advert a well-configured peer of `m` would send."""
    return replace(m.advert(priority), **changes)


def actions(outs: list[Output]) -> list[Output]:
    return [o for o in outs if isinstance(o, ACTIONS)]


def logs(outs: list[Output], detail: bool | None = None) -> list[str]:
    return [o.text for o in outs if isinstance(o, LogLine) and (detail is None or o.detail == detail)]


def changes(outs: list[Output]) -> list[tuple[State, State, Reason]]:
    return [(o.old, o.new, o.reason) for o in outs if isinstance(o, StateChanged)]


def accepted(outs: list[Output]) -> bool:
    """The advert passed every check (nothing dropped)."""
    return not any(isinstance(o, Dropped) for o in outs)


def sends(outs: list[Output]) -> list[int]:
    return [o.priority for o in outs if isinstance(o, SendAdvert)]


class Clock:
    """Drives a machine in small ticks, landing exactly on each deadline it asks for."""

    def __init__(self, m: VrrpMachine, now: float = 0.0, tick: float = 0.05) -> None:
        self.m, self.now, self.tick = m, now, tick
        self.fired: list[tuple[float, list[Output]]] = []

    def start(self) -> list[Output]:
        return self.m.start(self.now)

    def advance_to(self, until: float) -> list[Output]:
        out: list[Output] = []
        while self.now < until:
            step = min(self.now + self.tick, until)
            deadline = self.m.get_timer()
            if deadline is not None and deadline <= step:
                self.now = max(self.now, deadline)
                fired = self.m.handle_timer(self.now)
                self.fired.append((self.now, fired))
                out += fired
                continue
            self.now = step
        return out

    def advance(self, seconds: float) -> list[Output]:
        return self.advance_to(self.now + seconds)

    def receive(self, advert: Advert, src=PEER, ttl: int = 255, unicast: bool = False) -> list[Output]:
        return self.m.receive(advert, src, ttl, unicast, self.now)

    def times_of(self, kind: type) -> list[float]:
        return [t for t, outs in self.fired for o in outs if isinstance(o, kind)]


def as_master(inst: VrrpInstance | None = None, **kwargs) -> Clock:
    """A machine that took over by timeout (no peer), clock just after."""
    clock = Clock(machine(inst, **kwargs))
    clock.start()
    for t in clock.m.tracking.trackers:  # its scripts' first runs succeeded
        if t.kind == "script" and t.pending:
            clock.m.script_state(t.name, True, clock.now)
    clock.advance(clock.m.master_down_interval + 0.01)
    assert clock.m.state is State.MASTER
    return clock


# --- timers ----------------------------------------------------------------------------


def test_v2_backup_takes_over_after_master_down_interval():
    clock = Clock(machine())
    clock.start()
    assert clock.m.get_timer() == pytest.approx(3.609375, abs=EXACT)  # 3 * 1 + 156/256
    out = clock.advance(4.0)
    assert clock.times_of(StateChanged) == [pytest.approx(3.609375, abs=EXACT)]
    assert changes(out) == [(State.BACKUP, State.MASTER, Reason.TIMEOUT)]
    assert logs(out)[:3] == [
        "(VI_1) Receive advertisement timeout",
        "(VI_1) Entering MASTER STATE",
        "(VI_1) setting VIPs.",
    ]


def test_v3_master_down_interval_in_centiseconds():
    clock = Clock(machine(v3_instance()), tick=0.01)
    clock.start()
    assert clock.m.get_timer() == pytest.approx(0.3609375, abs=EXACT)  # 3 * 0.1 + 156 * 0.1 / 256
    clock.advance(0.5)
    assert clock.times_of(StateChanged) == [pytest.approx(0.3609375, abs=EXACT)]


def test_v2_skew_time_is_not_scaled_by_the_interval():
    m = machine(instance(priority=110, advert_int=2.0))
    m.start(0.0)
    assert m.skew_time == pytest.approx(146 / 256, abs=EXACT)
    assert m.get_timer() == pytest.approx(6 + 146 / 256, abs=EXACT)


def test_master_sends_an_advert_every_advert_int():
    clock = as_master(v3_instance())
    became = clock.times_of(AddVips)[0]
    clock.advance(0.35)
    sent = clock.times_of(SendAdvert)
    assert sent == [pytest.approx(became + 0.1 * k, abs=EXACT) for k in range(len(sent))]
    assert len(sent) == 4  # the takeover advert and three more within 0.35 s
    assert clock.m.get_timer() == pytest.approx(sent[-1] + 0.1, abs=EXACT)


def test_v3_backup_learns_master_adver_interval_from_the_advert():
    clock = Clock(machine(v3_instance()))
    clock.start()
    clock.advance(0.1)
    out = clock.receive(advert_for(clock.m, 150, max_advert_int=0.5))
    assert clock.m.master_adver_int == 0.5
    # Master_Down_Interval with the learned interval: 3 * 0.5 + (256 - 100) * 0.5 / 256
    assert clock.m.get_timer() == pytest.approx(0.1 + 1.5 + 156 * 0.5 / 256, abs=EXACT)
    assert logs(out) == ["(VI_1) advertisement interval updated from 100ms to 500ms by master"]  # keepalived 2.2.7
    assert clock.m.status(clock.now).learned_advert_int == 0.5
    out = clock.advance(2.0)  # the master fell silent: ours again as it takes over
    assert "(VI_1) changing advert interval from 500ms to locally configured 100ms" in logs(out)


def test_v3_learned_interval_logged_only_when_it_changes():
    clock = Clock(machine(v3_instance()))
    clock.start()
    first = clock.receive(advert_for(clock.m, 150, max_advert_int=0.5))
    again = clock.receive(advert_for(clock.m, 150, max_advert_int=0.5))
    assert len(logs(first)) == 1 and logs(again) == []


def test_becoming_master_when_nobody_holds_the_vips_adds_them_then_advert_and_gratuitous_then_notify():
    # nobody heard: the VIPs are up for the first packet the advert and GARPs bring (RFC 5798 6.4.1 orders only
    # the advert before the GARPs), also without an `urgent` hand-over
    clock = Clock(machine(instance(virtual_ipaddresses=(vip("192.168.1.100/24"), vip("10.0.0.1/8", dev="eth1")))))
    clock.start()
    out = clock.advance(4.0)
    assert actions(out) == [
        AddVips("VI_1"),
        SendAdvert("VI_1", 100),
        StartGratuitous("VI_1"),
        RunNotify("VI_1", "MASTER", 100),
    ]
    assert logs(out, detail=True) == [
        "(VI_1) Sending/queueing gratuitous ARPs on eth0 for 192.168.1.100",
        "(VI_1) Sending/queueing gratuitous ARPs on eth1 for 10.0.0.1",
    ]
    assert clock.m.counters.became_master == 1


def test_ipv6_master_logs_unsolicited_neighbour_adverts_on_the_vmac():
    inst = v3_instance(family=6, use_vmac=True, virtual_ipaddresses=(vip("fe80::1/64"), vip("2001:db8::1/64")))
    clock = Clock(machine(inst, address=ipaddress.IPv6Address("fe80::11")), tick=0.01)
    clock.start()
    out = clock.advance(0.5)
    assert logs(out, detail=True) == [
        "(VI_1) Sending/queueing Unsolicited Neighbour Adverts on vrrp6.51 for fe80::1",
        "(VI_1) Sending/queueing Unsolicited Neighbour Adverts on vrrp6.51 for 2001:db8::1",
    ]


# --- backup receiving --------------------------------------------------------------------


def test_backup_priority_zero_advert_sets_down_timer_to_skew_time():
    clock = Clock(machine())
    clock.start()
    clock.advance(1.0)
    out = clock.receive(advert_for(clock.m, 0))
    assert clock.m.get_timer() == pytest.approx(1.0 + 156 / 256, abs=EXACT)
    assert logs(out, detail=True) == ["(VI_1) Backup received priority 0 advertisement"]
    taken = clock.advance(1.0)
    assert changes(taken) == [(State.BACKUP, State.MASTER, Reason.PRIORITY_ZERO)]
    assert clock.times_of(StateChanged) == [pytest.approx(1.0 + 156 / 256, abs=EXACT)]
    assert clock.m.counters.priority_zero_received == 1


def test_backup_resets_down_timer_on_higher_priority_advert():
    clock = Clock(machine())
    clock.start()
    for _ in range(10):
        clock.advance(1.0)
        out = clock.receive(advert_for(clock.m, 150))
        assert accepted(out)
    assert clock.m.state is State.BACKUP
    assert clock.m.get_timer() == pytest.approx(10.0 + 3.609375, abs=EXACT)
    assert clock.m.master_address == PEER and clock.m.master_priority == 150


def test_backup_resets_down_timer_on_equal_priority_advert():
    clock = Clock(machine())
    clock.start()
    clock.advance(2.0)
    clock.receive(advert_for(clock.m, 100), src=LOW)
    assert clock.m.get_timer() == pytest.approx(2.0 + 3.609375, abs=EXACT)


def test_backup_preempts_lower_priority_master_when_its_down_timer_runs_out():
    clock = Clock(machine(instance(priority=150)))
    clock.start()
    heard: list[Output] = []
    out: list[Output] = []
    for _ in range(5):
        out += clock.advance(1.0)
        if clock.m.state is State.BACKUP:
            heard += clock.receive(advert_for(clock.m, 100))
    assert logs(heard, detail=True)[0] == "(VI_1) received lower priority (100) advert from 192.168.1.12 - discarding"
    # the adverts were ignored: the timer armed at start (3 + 106/256) ran out
    assert clock.times_of(StateChanged) == [pytest.approx(3 + 106 / 256, abs=EXACT)]
    assert clock.m.last_reason is Reason.PREEMPTED
    # the lower master holds the VIPs: our advert first makes it let go as ours go up (keepalived's order)
    assert actions(out)[:3] == [SendAdvert("VI_1", 150), AddVips("VI_1"), StartGratuitous("VI_1")]


def test_nopreempt_backup_keeps_a_lower_priority_master():
    clock = Clock(machine(instance(priority=150, nopreempt=True)))
    clock.start()
    for _ in range(10):
        clock.advance(1.0)
        clock.receive(advert_for(clock.m, 100))
    assert clock.m.state is State.BACKUP
    assert clock.m.get_timer() == pytest.approx(10.0 + 3 + 106 / 256, abs=EXACT)


def test_nopreempt_is_cleared_with_state_master():
    m = machine(instance(priority=150, nopreempt=True, initial_state="MASTER"))
    assert m.preempt is True


def test_preempt_delay_holds_off_preemption_after_start():
    clock = Clock(machine(instance(priority=150, preempt_delay=5.0)))
    clock.start()
    for _ in range(12):
        clock.advance(1.0)
        if clock.m.state is State.BACKUP:
            clock.receive(advert_for(clock.m, 100))
    # adverts at 1..4 s reset the timer; from 5 s on they are ignored: 4 + 3 + 106/256
    assert clock.times_of(StateChanged) == [pytest.approx(4 + 3 + 106 / 256, abs=EXACT)]
    assert clock.m.last_reason is Reason.PREEMPTED


def test_preempt_delay_restarts_after_a_better_master_is_seen():
    clock = Clock(machine(instance(priority=150, preempt_delay=5.0)))
    clock.start()
    for _ in range(6):
        clock.advance(1.0)
        clock.receive(advert_for(clock.m, 200))  # a better master stops the delay
    out: list[Output] = []
    for _ in range(12):
        clock.advance(1.0)
        if clock.m.state is State.BACKUP:
            out += clock.receive(advert_for(clock.m, 100))  # it got worse at 7 s: delay runs 7..12
    assert "(VI_1) start preempt delay (5)" in logs(out, detail=True)
    assert clock.times_of(StateChanged) == [pytest.approx(11 + 3 + 106 / 256, abs=EXACT)]


def test_preempt_delay_starts_again_when_the_instance_leaves_fault():
    # keepalived 2.2.7 logs "start preempt delay (2.000000)" again and preempts 2.3 s after the tracked
    # interface came back; vrrptui preempted after Master_Down_Interval
    clock = Clock(machine(instance(priority=150, preempt_delay=5.0, track_interfaces=(TrackInterface("eth1"),))))
    clock.start()
    clock.advance(6.0)  # the start's delay is over
    clock.m.interface_state("eth1", False, clock.now)
    clock.advance(1.0)
    out = clock.m.interface_state("eth1", True, clock.now)  # back at 7 s: BACKUP, delay 7..12
    assert "(VI_1) start preempt delay (5)" in logs(out, detail=True)
    for _ in range(10):
        clock.advance(1.0)
        if clock.m.state is State.BACKUP:
            clock.receive(advert_for(clock.m, 100))
    # adverts at 8..11 s reset the timer; from 12 s on they are ignored: 11 + 3 + 106/256
    assert clock.times_of(StateChanged)[-1] == pytest.approx(11 + 3 + 106 / 256, abs=EXACT)


# --- master receiving --------------------------------------------------------------------


def test_master_steps_down_on_higher_priority_advert():
    clock = as_master()
    at = clock.now
    out = clock.receive(advert_for(clock.m, 101))
    assert changes(out) == [(State.MASTER, State.BACKUP, Reason.HIGHER_PRIORITY)]
    # the VIPs go before anything else (the winner adds its own as its advert leaves), then one advert of ours
    # (higher_prio_send_advert, on by default) so the winner hears a lower-priority master
    assert out[0] == RemoveVips("VI_1")
    assert actions(out) == [RemoveVips("VI_1"), SendAdvert("VI_1", 100), StopGratuitous("VI_1"),
                            RunNotify("VI_1", "BACKUP", 100)]
    assert logs(out) == [
        "(VI_1) Master received advert from 192.168.1.12 with higher priority 101, ours 100",
        "(VI_1) Entering BACKUP STATE",
        "(VI_1) removing VIPs.",
    ]
    assert clock.m.get_timer() == pytest.approx(at + 3.609375, abs=EXACT)
    assert clock.m.counters.released_master == 1


def test_urgent_takes_the_step_down_vip_removal_before_the_transition_is_worked_out():
    # the runtime removes the VIPs while the machine is still MASTER, before its own advert
    seen: list[tuple[object, State, int]] = []
    clock = Clock(machine(urgent=lambda action: seen.append((action, clock.m.state, clock.m.counters.adverts_sent))))
    clock.start()
    clock.advance(clock.m.master_down_interval + 0.01)  # takes over (its network actions go to urgent too)
    seen.clear()
    sent = clock.m.counters.adverts_sent
    out = clock.receive(advert_for(clock.m, 101))
    assert seen == [(RemoveVips("VI_1"), State.MASTER, sent)]
    assert RemoveVips("VI_1") not in out
    assert actions(out) == [SendAdvert("VI_1", 100), StopGratuitous("VI_1"), RunNotify("VI_1", "BACKUP", 100)]



def test_a_takeover_on_its_timer_hands_its_vips_advert_and_garps_to_urgent_before_the_rest():
    # the segment sees them before the transition's logs, notify and timers are worked out; nobody holds the
    # VIPs (the master fell silent): they go up first, for the first packet the advert and GARPs bring
    seen: list[tuple[object, int]] = []
    clock = Clock(machine(urgent=lambda action: seen.append((action, len(clock.m._out)))))
    clock.start()
    out = clock.advance(clock.m.master_down_interval + 0.01)
    assert clock.m.state is State.MASTER and clock.m.last_reason is Reason.TIMEOUT
    assert [action for action, _ in seen] == [AddVips("VI_1"), SendAdvert("VI_1", 100), StartGratuitous("VI_1")]
    assert [pending for _, pending in seen] == [0, 0, 0]  # before even the timeout's log line
    assert RunNotify("VI_1", "MASTER", 100) in actions(out)
    assert sends(out) == [] and AddVips("VI_1") not in out and StartGratuitous("VI_1") not in out
    assert clock.m.counters.adverts_sent == 1 and clock.m.counters.became_master == 1


def test_a_takeover_after_a_priority_zero_puts_the_vips_up_before_its_advert():
    seen: list[object] = []
    clock = Clock(machine(urgent=seen.append))
    clock.start()
    clock.receive(advert_for(clock.m, 0), src=PEER)  # the master resigned: it holds nothing now
    clock.advance(clock.m.skew_time + 0.001)
    assert clock.m.state is State.MASTER and clock.m.last_reason is Reason.PRIORITY_ZERO
    assert seen == [AddVips("VI_1"), SendAdvert("VI_1", 100), StartGratuitous("VI_1")]


def test_a_preempting_takeover_sends_its_advert_before_its_vips():
    # a lower priority master holds the VIPs: our advert first, so that it lets go as ours go up
    seen: list[object] = []
    clock = Clock(machine(urgent=seen.append))
    clock.start()
    for _ in range(5):
        clock.receive(advert_for(clock.m, 50), src=PEER)
        clock.advance(clock.m.instance.advert_int)
    assert clock.m.state is State.MASTER and clock.m.last_reason is Reason.PREEMPTED
    assert seen == [SendAdvert("VI_1", 100), AddVips("VI_1"), StartGratuitous("VI_1")]


def test_an_owner_entering_master_at_start_hands_nothing_over():
    # not on a timer (start, reload, operator): the runtime carries out the batch as it comes
    seen: list[object] = []
    m = machine(instance(priority=255), urgent=seen.append)
    out = m.start(0.0)
    assert m.state is State.MASTER and seen == []
    assert sends(out) == [255] and AddVips("VI_1") in out


def test_master_steps_down_on_equal_priority_from_higher_address():
    clock = as_master()
    out = clock.receive(advert_for(clock.m, 100), src=PEER)
    assert changes(out) == [(State.MASTER, State.BACKUP, Reason.HIGHER_PRIORITY)]
    assert logs(out)[0] == (
        "(VI_1) Master received advert from 192.168.1.12 with same priority 100 but higher IP address than ours"
    )


def test_master_answers_equal_priority_from_lower_address_and_stays():
    clock = as_master()
    out = clock.receive(advert_for(clock.m, 100), src=LOW)
    assert clock.m.state is State.MASTER
    assert sends(out) == [100]
    assert logs(out) == [
        "(VI_1) Received advert from 192.168.1.10 with lower priority 100, ours 100, forcing new election"
    ]


def test_master_answers_lower_priority_advert_at_once_keeping_its_schedule():
    clock = as_master(instance(priority=101))
    deadline = clock.m.get_timer()
    out = clock.receive(advert_for(clock.m, 100))
    # keepalived's defaults: an advert, garp_lower_prio_repeat GARPs, notify_master_rx_lower_pri
    assert actions(out) == [SendAdvert("VI_1", 101), LowerPriorityGratuitous("VI_1"),
                            RunNotify("VI_1", "MASTER_RX_LOWER_PRI", 101)]
    assert logs(out) == [
        "(VI_1) Received advert from 192.168.1.12 with lower priority 100, ours 101, forcing new election"
    ]
    assert clock.m.get_timer() == deadline


def test_master_answers_priority_zero_and_restarts_adver_timer():
    clock = as_master()
    clock.advance(0.3)
    out = clock.receive(advert_for(clock.m, 0))
    assert actions(out) == [SendAdvert("VI_1", 100)]
    assert clock.m.get_timer() == pytest.approx(clock.now + 1.0, abs=EXACT)
    assert clock.m.counters.priority_zero_received == 1


def test_v3_master_stepping_down_adopts_the_new_masters_interval():
    clock = as_master(v3_instance())
    clock.receive(advert_for(clock.m, 200, max_advert_int=1.0))
    assert clock.m.master_adver_int == 1.0
    assert clock.m.get_timer() == pytest.approx(clock.now + 3 + 156 / 256, abs=EXACT)


# --- start-up ----------------------------------------------------------------------------


def test_owner_becomes_master_at_once_on_start():
    m = machine(instance(priority=255))
    out = m.start(5.0)
    assert changes(out) == [(State.INIT, State.MASTER, Reason.OWNER)]
    assert actions(out)[:3] == [SendAdvert("VI_1", 255), AddVips("VI_1"), StartGratuitous("VI_1")]
    assert logs(out)[0] == "(VI_1) Entering MASTER STATE"
    assert m.get_timer() == pytest.approx(6.0, abs=EXACT)


def test_state_master_starts_as_backup_and_waits_the_whole_master_down_interval():
    # keepalived 2.2.7, measured against a lower-priority master: BACKUP, then MASTER 3.41 s later at
    # advert_int 1 and priority 150 (3 + 106/256), and 0.34 s at v3 0.1 s; vrrptui took over after 1.004 s
    clock = Clock(machine(instance(initial_state="MASTER", priority=150)), tick=0.001)
    out = clock.start()
    assert logs(out) == ["(VI_1) Entering BACKUP STATE (init)"]
    assert changes(out) == [(State.INIT, State.BACKUP, Reason.STARTUP)]
    assert clock.m.get_timer() == pytest.approx(3 + 106 / 256, abs=EXACT)
    clock.advance(3.5)
    assert clock.times_of(StateChanged) == [pytest.approx(3 + 106 / 256, abs=EXACT)]


def test_state_master_v3_waits_its_master_down_interval():
    m = machine(v3_instance(initial_state="MASTER"))
    m.start(0.0)
    assert m.get_timer() == pytest.approx(m.master_down_interval, abs=EXACT)


def test_state_master_stays_backup_when_a_better_master_answers():
    clock = Clock(machine(instance(initial_state="MASTER", priority=150)))
    clock.start()
    clock.advance(0.5)
    clock.receive(advert_for(clock.m, 200))
    clock.advance(1.0)
    assert clock.m.state is State.BACKUP
    assert clock.m.get_timer() == pytest.approx(0.5 + 3 + 106 / 256, abs=EXACT)


def test_state_backup_starts_with_the_full_master_down_interval_and_notifies_backup():
    m = machine()
    out = m.start(2.0)
    assert actions(out) == [RunNotify("VI_1", "BACKUP", 100)]
    assert m.get_timer() == pytest.approx(2.0 + 3.609375, abs=EXACT)


# --- shutdown ----------------------------------------------------------------------------


def test_master_shutdown_sends_priority_zero_removes_vips_and_notifies_stop():
    clock = as_master()
    out = clock.m.shutdown(clock.now)
    assert actions(out) == [
        SendAdvert("VI_1", 0),
        StopGratuitous("VI_1"),
        RemoveVips("VI_1"),
        RunNotify("VI_1", "STOP", 100),
    ]
    assert changes(out) == [(State.MASTER, State.INIT, Reason.SHUTDOWN)]
    assert logs(out) == ["(VI_1) sent 0 priority", "(VI_1) removing VIPs."]
    assert clock.m.counters.priority_zero_sent == 1
    assert clock.m.get_timer() is None


def test_backup_shutdown_only_notifies_stop_and_then_ignores_everything():
    m = machine()
    m.start(0.0)
    out = m.shutdown(1.0)
    assert actions(out) == [RunNotify("VI_1", "STOP", 100)]
    assert m.shutdown(2.0) == []
    assert m.receive(advert_for(m, 0), PEER, 255, False, 2.0) == []
    assert m.get_timer() is None
