"""Fake-clock tests of VrrpMachine: one test per VRRP rule, exact deadlines, output order and log text."""

from __future__ import annotations

import ipaddress
from dataclasses import replace

import pytest

from vrrptui.config.model import (
    Authentication,
    TrackInterface,
    TrackScript,
    UnicastPeer,
    VirtualAddress,
    VrrpInstance,
    VrrpScript,
)
from vrrptui.engine.machine import LOG_RATE_LIMIT, VrrpMachine
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
from vrrptui.protocol.packet import Advert, ChecksumForm, DropReason

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
    assert logs(out) == ["(VI_1) advertisement interval updated to 500 milli-sec from 100 milli-sec (192.168.1.12)"]
    assert clock.m.status(clock.now).learned_advert_int == 0.5


def test_v3_learned_interval_logged_only_when_it_changes():
    clock = Clock(machine(v3_instance()))
    clock.start()
    first = clock.receive(advert_for(clock.m, 150, max_advert_int=0.5))
    again = clock.receive(advert_for(clock.m, 150, max_advert_int=0.5))
    assert len(logs(first)) == 1 and logs(again) == []


def test_becoming_master_adds_vips_then_sends_advert_and_gratuitous_back_to_back_then_notify():
    # VIPs first: the old master drops them on our advert, so they must be here already (no holder-less moment)
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
        "(VI_1) Sending/queueing Unsolicited Neighbour Adverts on vrrp.51 for fe80::1",
        "(VI_1) Sending/queueing Unsolicited Neighbour Adverts on vrrp.51 for 2001:db8::1",
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
    heard = []
    for _ in range(5):
        clock.advance(1.0)
        if clock.m.state is State.BACKUP:
            heard += clock.receive(advert_for(clock.m, 100))
    assert logs(heard, detail=True)[0] == "(VI_1) received lower priority (100) advert from 192.168.1.12 - discarding"
    # the adverts were ignored: the timer armed at start (3 + 106/256) ran out
    assert clock.times_of(StateChanged) == [pytest.approx(3 + 106 / 256, abs=EXACT)]
    assert clock.m.last_reason is Reason.PREEMPTED


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


# --- master receiving --------------------------------------------------------------------


def test_master_steps_down_on_higher_priority_advert():
    clock = as_master()
    at = clock.now
    out = clock.receive(advert_for(clock.m, 101))
    assert changes(out) == [(State.MASTER, State.BACKUP, Reason.HIGHER_PRIORITY)]
    # one advert of ours first (higher_prio_send_advert, on by default): the winner hears a lower-priority master
    assert actions(out) == [SendAdvert("VI_1", 100), StopGratuitous("VI_1"), RemoveVips("VI_1"),
                            RunNotify("VI_1", "BACKUP", 100)]
    assert logs(out) == [
        "(VI_1) Master received advert from 192.168.1.12 with higher priority 101, ours 100",
        "(VI_1) Entering BACKUP STATE",
        "(VI_1) removing VIPs.",
    ]
    assert clock.m.get_timer() == pytest.approx(at + 3.609375, abs=EXACT)
    assert clock.m.counters.released_master == 1


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
    assert actions(out)[:3] == [AddVips("VI_1"), SendAdvert("VI_1", 255), StartGratuitous("VI_1")]
    assert logs(out)[0] == "(VI_1) Entering MASTER STATE"
    assert m.get_timer() == pytest.approx(6.0, abs=EXACT)


def test_state_master_starts_as_backup_with_one_interval_and_minimum_skew():
    clock = Clock(machine(instance(initial_state="MASTER", priority=150)), tick=0.001)
    out = clock.start()
    assert logs(out) == ["(VI_1) Entering BACKUP STATE (init)"]
    assert changes(out) == [(State.INIT, State.BACKUP, Reason.STARTUP)]
    assert clock.m.get_timer() == pytest.approx(1 + 1 / 256, abs=EXACT)
    clock.advance(1.1)
    assert clock.times_of(StateChanged) == [pytest.approx(1 + 1 / 256, abs=EXACT)]


def test_state_master_v3_short_down_timer_scales_with_the_interval():
    m = machine(v3_instance(initial_state="MASTER"))
    m.start(0.0)
    assert m.get_timer() == pytest.approx(0.1 + 0.1 / 256, abs=EXACT)


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


# --- receive checks --------------------------------------------------------------------------


def test_multicast_advert_with_ttl_other_than_255_is_dropped():
    clock = Clock(machine())
    clock.start()
    out = clock.receive(advert_for(clock.m, 150), ttl=64)
    assert [(o.reason, o.src) for o in out if isinstance(o, Dropped)] == [(DropReason.TTL, PEER)]
    assert logs(out) == ["(VI_1) invalid TTL/HL from 192.168.1.12. Received 64 and expect 255"]
    assert clock.m.counters.drops["ttl"] == 1
    assert clock.m.get_timer() == pytest.approx(3.609375, abs=EXACT)  # not reset


def test_unicast_advert_with_ttl_63_is_dropped():
    # RFC 5798 7.1 (keepalived skips this for unicast): a routed advert is never from our segment
    clock = Clock(machine(instance(unicast_peers=(UnicastPeer(PEER),))))
    clock.start()
    out = clock.receive(advert_for(clock.m, 150), ttl=63, unicast=True)
    assert [o.reason for o in out if isinstance(o, Dropped)] == [DropReason.TTL]
    assert logs(out) == ["(VI_1) invalid TTL/HL from 192.168.1.12 (unicast). Received 63 and expect 255"]
    assert clock.m.counters.drops["ttl"] == 1


def test_v2_wrong_password_is_dropped():
    clock = Clock(machine(instance(authentication=Authentication("PASS", "1212"))))
    clock.start()
    out = clock.receive(advert_for(clock.m, 150, auth_data=b"9999\0\0\0\0"))
    assert [o.reason for o in out if isinstance(o, Dropped)] == [DropReason.AUTH]
    assert logs(out) == ["(VI_1) received an invalid passwd from 192.168.1.12!"]
    assert clock.m.counters.drops["auth"] == 1
    good = clock.receive(advert_for(clock.m, 150))
    assert accepted(good)


def test_v2_auth_type_mismatch_is_dropped():
    clock = Clock(machine(instance(authentication=Authentication("PASS", "1212"))))
    clock.start()
    out = clock.receive(advert_for(clock.m, 150, auth_type=0, auth_data=b"\0" * 8))
    assert logs(out) == ["(VI_1) received an invalid auth type from 192.168.1.12. Received 0 and expect 1"]
    assert clock.m.counters.drops["auth"] == 1


def test_v2_interval_mismatch_is_dropped():
    clock = Clock(machine())
    clock.start()
    out = clock.receive(advert_for(clock.m, 150, max_advert_int=2.0))
    assert [o.reason for o in out if isinstance(o, Dropped)] == [DropReason.INTERVAL]
    assert logs(out) == ["(VI_1) advertisement interval mismatch with 192.168.1.12 mine=1 sec rcv'd=2 sec"]
    assert clock.m.counters.drops["interval"] == 1


def test_v3_interval_mismatch_is_accepted():
    clock = Clock(machine(v3_instance()))
    clock.start()
    out = clock.receive(advert_for(clock.m, 150, max_advert_int=0.2))
    assert accepted(out)
    assert clock.m.counters.drops["interval"] == 0


def test_vip_list_mismatch_is_counted_and_logged_but_accepted():
    clock = Clock(machine())
    clock.start()
    clock.advance(1.0)
    wrong = (ipaddress.IPv4Address("192.168.1.200"),)
    out = clock.receive(advert_for(clock.m, 150, addresses=wrong))
    assert logs(out) == [
        "(VI_1) ip address associated with VRID 51 not present in MASTER advert from 192.168.1.12 : 192.168.1.100"
    ]
    assert clock.m.counters.drops["address_list"] == 1
    assert clock.m.get_timer() == pytest.approx(1.0 + 3.609375, abs=EXACT)  # accepted: timer reset


def test_check_unicast_src_drops_adverts_from_unknown_sources():
    inst = instance(unicast_peers=(UnicastPeer(PEER),))
    m = machine(inst, check_unicast_src=True)
    m.start(0.0)
    stranger = ipaddress.IPv4Address("192.168.1.99")
    out = m.receive(advert_for(m, 150), stranger, 255, True, 0.5)
    assert logs(out) == ["(VI_1) unicast source address 192.168.1.99 not a unicast peer"]
    assert m.counters.drops["unicast_source"] == 1
    assert accepted(m.receive(advert_for(m, 150), PEER, 255, True, 0.6))
    assert m.master_address == PEER


def test_unicast_source_is_not_checked_without_vrrp_check_unicast_src():
    m = machine(instance(unicast_peers=(UnicastPeer(PEER),)))
    m.start(0.0)
    out = m.receive(advert_for(m, 150), ipaddress.IPv4Address("192.168.1.99"), 255, True, 0.5)
    assert accepted(out)


def test_version_mismatch_is_dropped():
    clock = Clock(machine())
    clock.start()
    v3 = Advert(3, 51, 150, 1.0, (ipaddress.IPv4Address("192.168.1.100"),))
    out = clock.receive(v3)
    assert logs(out) == ["(VI_1) wrong version from 192.168.1.12. Received 3 and expect 2"]
    assert clock.m.counters.drops["version"] == 1


def test_receive_error_lines_are_rate_limited_per_source():
    clock = Clock(machine())
    clock.start()
    lines = []
    for _ in range(12):
        clock.advance(1.0)
        lines += logs(clock.receive(advert_for(clock.m, 150), ttl=1))
    assert len(lines) == 2  # at 1 s and at 1 + LOG_RATE_LIMIT s
    assert LOG_RATE_LIMIT == 10.0
    assert clock.m.counters.drops["ttl"] == 12


def test_v3_ipv4_checksum_forms_are_counted():
    m = machine(v3_instance())
    m.start(0.0)
    m.receive(advert_for(m, 150, checksum_form=ChecksumForm.PSEUDO), PEER, 255, False, 0.01)
    m.receive(advert_for(m, 150, checksum_form=ChecksumForm.MESSAGE), PEER, 255, False, 0.02)
    m.receive(advert_for(m, 150, checksum_form=ChecksumForm.MESSAGE), PEER, 255, False, 0.03)
    assert (m.counters.checksum_pseudo, m.counters.checksum_message) == (1, 2)
    assert m.counters.adverts_received == 3


# --- priority and trackers ---------------------------------------------------------------------


def script(name: str, weight: int, **kw) -> VrrpScript:
    return VrrpScript(name=name, script="/bin/true", weight=weight, **kw)


def tracked(weight: int, priority: int = 100, **kw) -> VrrpMachine:
    inst = instance(priority=priority, track_scripts=(TrackScript("chk_api"),), **kw)
    return machine(inst, scripts={"chk_api": script("chk_api", weight)})


def test_failing_script_lowers_priority_by_its_weight_in_the_next_advert():
    m = tracked(-20)
    clock = as_master(m.instance, scripts={"chk_api": script("chk_api", -20)})
    out = clock.m.script_state("chk_api", False, clock.now)
    assert logs(out) == ["(VI_1) Changing effective priority from 100 to 80"]
    assert actions(out) == []  # goes out with the next advert
    assert clock.m.status(clock.now).priority_reason == "track_script chk_api failed (-20)"
    assert sends(clock.advance(1.0)) == [80]


def test_positive_weight_is_added_while_ok_and_clamped_to_254():
    m = tracked(+20, priority=250)
    assert m.effective_priority == 254
    assert m.priority_reason == "track_script chk_api ok (+20) (clamped from 270)"
    m.start(0.0)
    m.script_state("chk_api", False, 1.0)
    assert m.effective_priority == 250


def test_effective_priority_is_clamped_to_1():
    m = tracked(-200, priority=50)
    m.start(0.0)
    m.script_state("chk_api", False, 1.0)
    assert m.effective_priority == 1


def test_address_owner_ignores_tracker_weights():
    m = tracked(-20, priority=255)
    m.start(0.0)
    m.script_state("chk_api", False, 1.0)
    assert m.effective_priority == 255
    assert m.state is State.MASTER
    assert m.priority_reason == "address owner: tracker weights ignored"


def test_weight_zero_script_failure_puts_master_in_fault_and_recovers_to_backup():
    clock = as_master(instance(track_scripts=(TrackScript("chk"),)), scripts={"chk": script("chk", 0)})
    out = clock.m.script_state("chk", False, clock.now)
    assert changes(out) == [(State.MASTER, State.FAULT, Reason.FAULT)]
    assert actions(out) == [
        SendAdvert("VI_1", 0),
        StopGratuitous("VI_1"),
        RemoveVips("VI_1"),
        RunNotify("VI_1", "FAULT", 100),
    ]
    assert logs(out, detail=False) == ["(VI_1) Entering FAULT STATE", "(VI_1) removing VIPs."]
    assert [o.detail for o in out if isinstance(o, StateChanged)] == ["track_script chk failed (fault)"]
    assert clock.m.get_timer() is None
    back = clock.m.script_state("chk", True, clock.now + 2)
    assert changes(back) == [(State.FAULT, State.BACKUP, Reason.RECOVERED)]
    assert actions(back) == [RunNotify("VI_1", "BACKUP", 100)]
    assert clock.m.get_timer() == pytest.approx(clock.now + 2 + 3.609375, abs=EXACT)


def test_own_interface_down_means_fault_without_a_priority_zero_advert():
    clock = as_master()
    out = clock.m.interface_state("eth0", False, clock.now)
    assert changes(out) == [(State.MASTER, State.FAULT, Reason.FAULT)]
    assert sends(out) == []  # the link is down: nothing to send on
    assert clock.m.interface_state("eth9", True, clock.now) == []
    back = clock.m.interface_state("eth0", True, clock.now + 1)
    assert changes(back) == [(State.FAULT, State.BACKUP, Reason.RECOVERED)]


def test_tracked_interface_with_weight_zero_down_is_a_fault():
    m = machine(instance(track_interfaces=(TrackInterface("eth1"),)))
    m.start(0.0)
    out = m.interface_state("eth1", False, 1.0)
    assert changes(out) == [(State.BACKUP, State.FAULT, Reason.FAULT)]
    assert m.status(1.0).trackers == (("eth1", "down", 0),)


def test_tracked_interface_weight_applies_while_down():
    m = machine(instance(track_interfaces=(TrackInterface("eth1", weight=-30),)))
    m.start(0.0)
    m.interface_state("eth1", False, 1.0)
    assert (m.state, m.effective_priority) == (State.BACKUP, 70)
    assert m.priority_reason == "track_interface eth1 down (-30)"


def test_backup_whose_priority_rises_above_the_master_preempts_at_its_down_timer():
    inst = instance(track_scripts=(TrackScript("chk"),))
    clock = Clock(machine(inst, scripts={"chk": script("chk", 20, init_fail=True)}))
    clock.start()
    for _ in range(3):
        clock.advance(1.0)
        clock.receive(advert_for(clock.m, 110))
    clock.m.script_state("chk", True, clock.now)  # 100 -> 120, above the master's 110
    assert clock.m.effective_priority == 120
    for _ in range(5):
        clock.advance(1.0)
        if clock.m.state is State.BACKUP:
            clock.receive(advert_for(clock.m, 110))
    assert clock.times_of(StateChanged) == [pytest.approx(3.0 + 3.609375, abs=EXACT)]  # last reset at 3 s
    assert clock.m.last_reason is Reason.PREEMPTED


# --- operator --------------------------------------------------------------------------------


def test_operator_priority_goes_out_in_the_next_advert_and_resume_restores_it():
    clock = as_master()
    clock.m.set_priority(42, clock.now)
    assert clock.m.status(clock.now).held == "priority"
    assert clock.m.priority_reason == "operator"
    assert sends(clock.advance(1.0)) == [42]
    clock.m.resume(clock.now)
    assert sends(clock.advance(1.0)) == [100]
    assert clock.m.held is None


def test_demote_resigns_with_priority_zero_and_holds_backup_until_resume():
    clock = as_master()
    out = clock.m.demote(clock.now)
    assert changes(out) == [(State.MASTER, State.BACKUP, Reason.OPERATOR)]
    assert actions(out) == [
        SendAdvert("VI_1", 0),
        StopGratuitous("VI_1"),
        RemoveVips("VI_1"),
        RunNotify("VI_1", "BACKUP", 100),
    ]
    assert clock.m.get_timer() is None
    assert changes(clock.advance(60.0)) == []  # nobody else is master, still held
    resumed_at = clock.now
    clock.m.resume(resumed_at)
    assert clock.m.get_timer() == pytest.approx(resumed_at + 3.609375, abs=EXACT)
    assert changes(clock.advance(4.0)) == [(State.BACKUP, State.MASTER, Reason.TIMEOUT)]


def test_failover_on_master_goes_silent_without_priority_zero():
    clock = as_master()
    out = clock.m.failover(clock.now)
    assert changes(out) == [(State.MASTER, State.BACKUP, Reason.OPERATOR)]
    assert actions(out) == [StopGratuitous("VI_1"), RemoveVips("VI_1"), RunNotify("VI_1", "BACKUP", 100)]
    assert clock.m.status(clock.now).held == "failed"
    assert actions(clock.advance(30.0)) == []


def test_failover_on_backup_takes_over_now():
    clock = Clock(machine())
    clock.start()
    clock.advance(1.0)
    clock.receive(advert_for(clock.m, 150))
    out = clock.m.failover(clock.now)
    assert changes(out) == [(State.BACKUP, State.MASTER, Reason.OPERATOR)]
    # held at 254 so the live master (150) yields to our first advert
    assert actions(out)[:2] == [AddVips("VI_1"), SendAdvert("VI_1", 254)]
    assert clock.m.status(clock.now).held == "forced"


def test_failover_in_fault_is_refused_with_the_reason():
    m = machine()
    m.start(0.0)
    m.interface_state("eth0", False, 1.0)
    with pytest.raises(ValueError, match="interface eth0 down"):
        m.failover(2.0)


# --- status ---------------------------------------------------------------------------------


def test_status_reports_countdown_priorities_and_counters():
    clock = Clock(machine(instance(unicast_peers=(UnicastPeer(PEER),), use_vmac=True)))
    clock.start()
    clock.advance(1.0)
    clock.receive(advert_for(clock.m, 150))
    s = clock.m.status(clock.now)
    assert (s.name, s.interface, s.vrid, s.version, s.family, s.state) == ("VI_1", "eth0", 51, 2, 4, "BACKUP")
    assert (s.configured_priority, s.effective_priority, s.priority_reason) == (100, 100, "")
    assert (s.primary_address, s.master_address, s.master_priority) == ("192.168.1.11", "192.168.1.12", 150)
    assert s.master_down_at == pytest.approx(1.0 + 3.609375, abs=EXACT)
    assert s.master_down_interval == pytest.approx(3.609375, abs=EXACT)
    assert s.skew_time == pytest.approx(156 / 256, abs=EXACT)
    assert (s.advert_int, s.learned_advert_int, s.preempt, s.preempt_delay) == (1.0, None, True, 0.0)
    assert (s.last_transition, s.last_reason) == ("INIT -> BACKUP", "startup")
    assert (s.vips, s.vmac) == (("192.168.1.100/24",), "00:00:5e:00:01:33")
    assert (s.unicast_peers, s.held) == (("192.168.1.12",), None)
    assert s.counters.adverts_received == 1
    assert s.to_json()["counters"]["adverts_received"] == 1
    clock.advance(5.0)
    master = clock.m.status(clock.now)
    assert (master.state, master.master_address, master.master_down_at) == ("MASTER", "192.168.1.11", None)
    assert master.state_since == pytest.approx(1.0 + 3.609375, abs=EXACT)


def test_counters_count_adverts_sent_and_roles():
    clock = as_master()
    clock.advance(2.0)
    clock.receive(advert_for(clock.m, 200))
    c = clock.m.counters
    # 3 on schedule, 1 as it steps down (higher_prio_send_advert)
    assert (c.adverts_sent, c.became_master, c.released_master, c.adverts_received) == (4, 1, 1, 1)
