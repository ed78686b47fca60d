"""Host events the runtime reports to the engine: the interface lost every source address."""

from __future__ import annotations

from test_machine import Clock, actions, as_master, changes, machine, sends

from vrrptui.engine.outputs import Reason, RemoveVips, RunNotify, SendAdvert, State, StateChanged


def test_master_losing_its_source_address_resigns_with_priority_zero_and_enters_fault():
    clock = as_master()
    out = clock.m.address_state(False, clock.now)
    assert changes(out) == [(State.MASTER, State.FAULT, Reason.FAULT)]
    assert sends(out) == [0]  # the backup takes over after Skew_Time, not Master_Down_Interval
    assert RemoveVips("VI_1") in actions(out)
    assert clock.m.status(clock.now).state == "FAULT"
    assert clock.m.get_timer() is None


def test_source_address_back_leaves_fault_for_backup():
    clock = as_master()
    clock.m.address_state(False, clock.now)
    assert clock.m.address_state(False, clock.now + 0.5) == []  # no change, no output
    back = clock.m.address_state(True, clock.now + 1)
    assert changes(back) == [(State.FAULT, State.BACKUP, Reason.RECOVERED)]
    assert RunNotify("VI_1", "BACKUP", 100) in actions(back)
    assert clock.m.get_timer() is not None


def test_backup_without_source_address_waits_in_fault():
    m = machine()
    m.start(0.0)
    out = m.address_state(False, 1.0)
    assert changes(out) == [(State.BACKUP, State.FAULT, Reason.FAULT)]
    assert sends(out) == []
    assert [o.detail for o in out if isinstance(o, StateChanged)] == ["no IPv4 address on eth0"]


def test_urgent_takes_the_priority_zero_before_the_fault_is_worked_out():
    # the backup's Skew_Time starts when the priority 0 arrives: it leaves while the machine is still MASTER
    seen: list[tuple[object, State]] = []
    clock = Clock(machine(urgent=lambda action: seen.append((action, clock.m.state))))
    clock.start()
    clock.advance(clock.m.master_down_interval + 0.01)  # takes over (its network actions go to urgent too)
    seen.clear()
    sent, zero = clock.m.counters.adverts_sent, clock.m.counters.priority_zero_sent
    out = clock.m.address_state(False, clock.now)
    assert seen == [(SendAdvert("VI_1", 0), State.MASTER)]
    assert sends(out) == []  # not twice
    assert changes(out) == [(State.MASTER, State.FAULT, Reason.FAULT)]
    assert RemoveVips("VI_1") in actions(out)
    assert (clock.m.counters.adverts_sent, clock.m.counters.priority_zero_sent) == (sent + 1, zero + 1)


def test_a_backup_losing_its_address_hands_nothing_over():
    seen: list[object] = []
    m = machine(urgent=seen.append)
    m.start(0.0)
    m.address_state(False, 1.0)
    assert seen == [] and m.state is State.FAULT
