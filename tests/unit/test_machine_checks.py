"""The state machine's receive checks, priority and trackers, operator commands and status."""

from __future__ import annotations

import ipaddress

import pytest

from vrrptui.config.model import (
    Authentication,
    TrackInterface,
    TrackScript,
    UnicastPeer,
    VrrpScript,
)
from vrrptui.engine.machine import LOG_RATE_LIMIT, VrrpMachine
from vrrptui.engine.outputs import (
    AddVips,
    Dropped,
    Reason,
    RemoveVips,
    RunNotify,
    SendAdvert,
    State,
    StateChanged,
    StopGratuitous,
)
from vrrptui.protocol.packet import Advert, ChecksumForm, DropReason

from test_machine import (
    accepted, actions, advert_for, as_master, changes, Clock, EXACT, instance, logs, machine,
    PEER, sends, v3_instance,
)


# --- receive checks --------------------------------------------------------------------------


def test_multicast_advert_with_ttl_other_than_255_is_dropped():
    clock = Clock(machine())
    clock.start()
    out = clock.receive(advert_for(clock.m, 150), ttl=64)
    assert [(o.reason, o.src) for o in out if isinstance(o, Dropped)] == [(DropReason.TTL, PEER)]
    assert logs(out) == ["(VI_1) invalid TTL/HL from 192.168.1.12. Received 64 and expect 255"]
    assert clock.m.counters.drops["ttl"] == 1
    assert clock.m.get_timer() == pytest.approx(3.609375, abs=EXACT)  # not reset


def test_the_same_advert_again_is_checked_again_when_what_came_with_it_differs():
    # a master repeats its bytes and decode() returns the same object: the checks' verdict is reused
    # only for the same advert from the same source with the same TTL
    clock = Clock(machine())
    clock.start()
    ad = advert_for(clock.m, 150)
    assert accepted(clock.receive(ad))
    assert accepted(clock.receive(ad))
    out = clock.receive(ad, ttl=64)
    assert [o.reason for o in out if isinstance(o, Dropped)] == [DropReason.TTL]
    assert clock.m.counters.adverts_received == 3 and clock.m.counters.drops["ttl"] == 1


def test_unicast_advert_with_ttl_63_is_dropped():
    # RFC 5798 7.1 (keepalived skips this for unicast): a routed advert is never from our segment
    clock = Clock(machine(instance(unicast_peers=(UnicastPeer(PEER),))))
    clock.start()
    out = clock.receive(advert_for(clock.m, 150), ttl=63, unicast=True)
    assert [o.reason for o in out if isinstance(o, Dropped)] == [DropReason.TTL]
    assert logs(out) == ["(VI_1) invalid TTL/HL from 192.168.1.12 (unicast). Received 63 and expect 255"
                         " (if 192.168.1.12 runs keepalived, add `min_ttl 63` to its unicast_peer line here,"
                         " or `unicast_ttl 255` to its config)"]
    assert clock.m.counters.drops["ttl"] == 1


def test_a_routed_unicast_advert_from_a_stranger_gets_no_hint():
    # the hint is for a configured peer (keepalived 2.2.7 sends IPv6 unicast with hop limit 64);
    # a stranger's routed advert is only dropped
    m = machine(instance(unicast_peers=(UnicastPeer(PEER),)))
    m.start(0.0)
    stranger = ipaddress.IPv4Address("192.168.7.99")
    out = m.receive(advert_for(m, 150), stranger, 63, True, 0.5)
    assert logs(out) == ["(VI_1) invalid TTL/HL from 192.168.7.99 (unicast). Received 63 and expect 255"]


def test_unicast_peer_ttl_range_admits_keepalived_ipv6_hop_limit_64_from_that_peer_only():
    # keepalived 2.2.7 sends IPv6 unicast adverts with hop limit 64 unless `unicast_ttl 255`;
    # keepalived's `unicast_peer { ADDR min_ttl N max_ttl M }` is the way to accept them
    inst = instance(unicast_peers=(UnicastPeer(PEER, min_ttl=64, max_ttl=64),))
    m = machine(inst)
    m.start(0.0)
    assert accepted(m.receive(advert_for(m, 150), PEER, 64, True, 0.5))
    out = m.receive(advert_for(m, 150), PEER, 255, True, 0.6)  # outside the range: dropped
    assert logs(out) == ["(VI_1) invalid TTL/HL from 192.168.1.12 (unicast). Received 255 and expect 64"]
    out = m.receive(advert_for(m, 150), PEER, 64, False, 0.7)  # multicast: always 255 (log rate-limited)
    assert [o.reason for o in out if isinstance(o, Dropped)] == [DropReason.TTL]
    stranger = ipaddress.IPv4Address("192.168.1.99")  # a range turns on the unicast source check
    out = m.receive(advert_for(m, 150), stranger, 255, True, 0.8)
    assert logs(out) == ["(VI_1) unicast source address 192.168.1.99 not a unicast peer"]
    m = machine(instance(unicast_peers=(UnicastPeer(PEER, min_ttl=60),)))
    m.start(0.0)
    assert accepted(m.receive(advert_for(m, 150), PEER, 255, True, 0.5))
    out = m.receive(advert_for(m, 150), PEER, 59, True, 0.6)
    assert logs(out) == ["(VI_1) invalid TTL/HL from 192.168.1.12 (unicast). Received 59 and expect 60-255"]


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
    assert logs(out) == ["(VI_1) advertisement interval mismatch mine=1 sec rcv'd=2 sec"]  # keepalived 2.2.7's words
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
    m.start(0.0)
    assert m.effective_priority == 250  # not run yet: no weight (keepalived's INIT)
    m.script_state("chk_api", True, 0.5)
    assert m.effective_priority == 254
    assert m.priority_reason == "track_script chk_api ok (+20) (clamped from 270)"
    m.script_state("chk_api", False, 1.0)
    assert m.effective_priority == 250


@pytest.mark.parametrize("weight", [20, -20])
def test_a_script_that_has_not_run_yet_adds_no_weight_and_its_first_result_counts(weight: int):
    # keepalived 2.2.7 with a failing check: weight +20 is never added, -20 comes at the first failure
    m = tracked(weight, priority=150)
    m.start(0.0)
    assert m.state is State.BACKUP and m.effective_priority == 150
    m.script_state("chk_api", False, 0.1)
    assert m.effective_priority == (150 if weight > 0 else 130)


@pytest.mark.parametrize(("weight", "ok", "expected"), [
    (20, True, 130),     # keepalived 2.2.7: `weight 20 reverse`, succeeding: 150 - 20
    (20, False, 150),
    (-20, False, 170),   # `weight -20 reverse`, failing: +20
    (-20, True, 150),
])
def test_reverse_on_a_script_turns_the_weight_round_and_applies_it_in_the_other_state(weight, ok, expected):
    for on_script, on_line in ((True, None), (False, True)):  # the vrrp_script's `reverse`, or the track line's
        inst = instance(priority=150, track_scripts=(TrackScript("chk", reverse=on_line),))
        m = machine(inst, scripts={"chk": script("chk", weight, weight_reverse=on_script)})
        m.start(0.0)
        m.script_state("chk", ok, 0.1)
        assert m.effective_priority == expected, (on_script, on_line)


def test_reverse_with_weight_zero_is_a_fault_while_the_script_succeeds_and_noreverse_undoes_it():
    inst = instance(priority=150, track_scripts=(TrackScript("chk"),))
    m = machine(inst, scripts={"chk": script("chk", 0, weight_reverse=True)})
    m.start(0.0)
    assert changes(m.script_state("chk", True, 0.1)) == [(State.INIT, State.FAULT, Reason.FAULT)]
    inst = instance(priority=150, track_scripts=(TrackScript("chk", reverse=False),))  # `chk noreverse`
    m = machine(inst, scripts={"chk": script("chk", 0, weight_reverse=True)})
    m.start(0.0)
    assert changes(m.script_state("chk", True, 0.1)) == [(State.INIT, State.BACKUP, Reason.STARTUP)]


def test_reverse_on_a_tracked_interface():
    # keepalived: `eth1 weight 30 reverse` takes 30 off while eth1 is up; `eth1 weight 0 reverse` is a FAULT then
    m = machine(instance(priority=150, track_interfaces=(TrackInterface("eth1", 30, reverse=True),)))
    m.start(0.0)
    assert m.effective_priority == 120
    m.interface_state("eth1", False, 1.0)
    assert m.effective_priority == 150
    m = machine(instance(priority=150, track_interfaces=(TrackInterface("eth1", 0, reverse=True),)))
    assert changes(m.start(0.0)) == [(State.INIT, State.FAULT, Reason.FAULT)]
    assert changes(m.interface_state("eth1", False, 1.0)) == [(State.FAULT, State.BACKUP, Reason.RECOVERED)]


def test_a_weight_zero_script_keeps_the_instance_in_init_until_its_first_result():
    # keepalived: INIT until the first run; a failing one goes straight to FAULT (no BACKUP, no takeover in
    # between), a succeeding one to BACKUP
    for ok, after in ((False, State.FAULT), (True, State.BACKUP)):
        m = tracked(0, priority=150)
        assert changes(m.start(0.0)) == [] and m.state is State.INIT and m.get_timer() is None
        out = m.script_state("chk_api", ok, 0.2)
        assert changes(out) == [(State.INIT, after, Reason.FAULT if not ok else Reason.STARTUP)]
        assert [a for a in actions(out) if isinstance(a, RunNotify)] == [RunNotify("VI_1", after.value, 150)]


def test_effective_priority_is_clamped_to_1():
    m = tracked(-200, priority=50)
    m.start(0.0)
    m.script_state("chk_api", False, 1.0)
    assert m.effective_priority == 1


def test_notify_priority_changes_reports_each_effective_priority_change_once():
    # keepalived 2.2.7 (vrrp_set_effective_priority): MASTER_PRIORITY as master, BACKUP_PRIORITY otherwise,
    # with the new effective priority; FIFO lines only, nothing when the priority stays the same
    inst = instance(track_scripts=(TrackScript("chk_api"),), notify_priority_changes=True)
    clock = as_master(inst, scripts={"chk_api": script("chk_api", -20)})
    out = clock.m.script_state("chk_api", False, clock.now)
    assert actions(out) == [RunNotify("VI_1", "MASTER_PRIORITY", 80)]
    assert actions(clock.m.script_state("chk_api", False, clock.now + 1)) == []
    backup = machine(instance(track_interfaces=(TrackInterface("eth1", weight=-30),), notify_priority_changes=True))
    backup.start(0.0)
    assert actions(backup.interface_state("eth1", False, 1.0)) == [RunNotify("VI_1", "BACKUP_PRIORITY", 70)]
    assert actions(backup.interface_state("eth1", True, 2.0)) == [RunNotify("VI_1", "BACKUP_PRIORITY", 100)]
    owner = machine(instance(track_scripts=(TrackScript("chk_api"),), priority=255, notify_priority_changes=True),
                    scripts={"chk_api": script("chk_api", -20)})
    owner.start(0.0)
    assert actions(owner.script_state("chk_api", False, 1.0)) == []  # the address owner's priority never moves


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


def test_vmac_down_is_a_fault_like_the_instances_own_interface():
    clock = as_master(instance(use_vmac=True))
    out = clock.m.interface_state("vrrp.51", False, clock.now)
    assert changes(out) == [(State.MASTER, State.FAULT, Reason.FAULT)]
    assert clock.m.tracking.faults() == ["VMAC vrrp.51 down"]
    assert instance().vmac_interface == "vrrp.51" and machine().interface_state("vrrp.51", False, 1.0) == []
    back = clock.m.interface_state("vrrp.51", True, clock.now + 1)
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
    assert actions(out)[:2] == [SendAdvert("VI_1", 254), AddVips("VI_1")]
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
