"""Fake-clock tests of Engine: demultiplexing, sync groups, operator commands, reload, status, advert bytes."""

from __future__ import annotations

import ipaddress
from dataclasses import replace

import pytest

from test_machine import EXACT, ME, PEER, actions, advert_for, changes, instance, logs, sends, vip
from vrrptui.engine.commands import CommandError, Demote, Resume, SetPriority
from vrrptui.config.model import Config, GlobalDefs, SyncGroup, TrackScript, VrrpScript
from vrrptui.engine.engine import Engine
from vrrptui.engine.outputs import (
    Dropped,
    LogLine,
    Output,
    Reason,
    RemoveVips,
    RunGroupNotify,
    RunNotify,
    SendAdvert,
    State,
    StopGratuitous,
)
from vrrptui.protocol.packet import MCAST_V4, Advert, DropReason, decode, encode

ME2 = ipaddress.IPv4Address("10.0.0.11")
PEER2 = ipaddress.IPv4Address("10.0.0.12")

VI_1 = instance()
VI_2 = instance(name="VI_2", interface="eth1", virtual_ipaddresses=(vip("10.0.0.100/24"),))
PRIMARY = {"VI_1": ME, "VI_2": ME2}


def config(*instances, **kw) -> Config:
    return Config(path="/etc/keepalived/keepalived.conf", instances=instances or (VI_1, VI_2), **kw)


def grouped(**kw) -> Config:
    return config(sync_groups=(SyncGroup("G1", ("VI_1", "VI_2")),), **kw)


def wire(advert: Advert, src=PEER, dst=MCAST_V4) -> bytes:
    return encode(advert, src, dst)


def run(engine: Engine, now: float, until: float) -> tuple[float, list[Output]]:
    """Advance the engine's fake clock to `until`, firing every deadline exactly."""
    out: list[Output] = []
    while (t := engine.get_timer()) is not None and t <= until:
        now = max(now, t)
        out += engine.handle_timer(now)
    return until, out


def state(engine: Engine, name: str) -> State:
    return engine.machine(name).state


# --- demultiplexing ----------------------------------------------------------------------


def test_packets_are_demultiplexed_by_interface_family_and_vrid():
    engine = Engine(config(), PRIMARY)
    engine.start(0.0)
    ad = advert_for(engine.machine("VI_2"), 150)
    out = engine.receive_packet("eth1", PEER2, MCAST_V4, 255, wire(ad, PEER2), 1.0)
    assert not [o for o in out if isinstance(o, Dropped)]
    received = [engine.machine(name).counters.adverts_received for name in ("VI_1", "VI_2")]
    assert received == [0, 1]
    assert engine.machine("VI_2").get_timer() == pytest.approx(1.0 + 3.609375, abs=EXACT)
    assert engine.machine("VI_1").get_timer() == pytest.approx(3.609375, abs=EXACT)


def test_unknown_vrid_is_dropped_without_an_instance_and_counted_by_the_engine():
    engine = Engine(config(), PRIMARY)
    engine.start(0.0)
    stray = Advert(2, 99, 100, 1.0, (ipaddress.IPv4Address("192.168.1.9"),))
    out = engine.receive_packet("eth0", PEER, MCAST_V4, 255, wire(stray), 1.0)
    assert out == [Dropped(None, DropReason.VRID, PEER, 1.0, "VRID 99 on eth0: no vrrp_instance here"),
                   LogLine("dropped packet: VRID 99 on eth0: no vrrp_instance here", detail=True)]
    assert engine.drops["vrid"] == 1


def test_codec_drop_is_counted_by_the_instance_owning_the_vrid():
    engine = Engine(config(), PRIMARY)
    engine.start(0.0)
    data = bytearray(wire(advert_for(engine.machine("VI_1"), 150)))
    data[6] ^= 0xFF  # break the checksum
    out = engine.receive_packet("eth0", PEER, MCAST_V4, 255, bytes(data), 1.0)
    assert [(o.instance, o.reason) for o in out if isinstance(o, Dropped)] == [("VI_1", DropReason.CHECKSUM)]
    assert logs(out) == ["(VI_1) Invalid VRRPv2 checksum from 192.168.1.12"]
    assert engine.machine("VI_1").counters.drops["checksum"] == 1


def test_ttl_is_checked_whatever_the_destination():
    # RFC 5798 7.1: a routed advert (TTL 63/64) sent to our own address is dropped like a multicast one
    engine = Engine(config(), PRIMARY)
    engine.start(0.0)
    ad = advert_for(engine.machine("VI_1"), 150)
    out = engine.receive_packet("eth0", PEER, ME, 64, wire(ad, PEER, ME), 1.0)
    assert [(o.reason, o.detail) for o in out if isinstance(o, Dropped)] == [
        (DropReason.TTL, "invalid TTL/HL from 192.168.1.12 (unicast). Received 64 and expect 255")]
    multicast = engine.receive_packet("eth0", PEER, MCAST_V4, 64, wire(ad), 1.1)
    assert isinstance(multicast[0], Dropped)
    accepted = engine.receive_packet("eth0", PEER, ME, 255, wire(ad, PEER, ME), 1.2)
    assert not [o for o in accepted if isinstance(o, Dropped)] and engine.machine("VI_1").master_address == PEER
    assert engine.machine("VI_1").counters.drops["ttl"] == 2


def test_engine_timer_is_the_earliest_machine_deadline():
    engine = Engine(config(VI_1, replace(VI_2, priority=200)), PRIMARY)
    engine.start(0.0)
    assert engine.get_timer() == pytest.approx(3 + 56 / 256, abs=EXACT)
    _, out = run(engine, 0.0, 3.5)
    assert changes(out) == [(State.BACKUP, State.MASTER, Reason.TIMEOUT)]
    assert state(engine, "VI_2") is State.MASTER and state(engine, "VI_1") is State.BACKUP


def test_a_packet_dated_by_its_arrival_counts_from_then_but_the_clock_never_goes_back():
    """The runtime dates a packet by when the kernel received it: earlier than the loop's time, and maybe
    earlier than an event handled before it. Its timers count from its arrival, never from before the
    latest time handed in."""
    engine = Engine(config(), PRIMARY)
    engine.start(0.0)
    ad = advert_for(engine.machine("VI_2"), 150)
    engine.receive_packet("eth1", PEER2, MCAST_V4, 255, wire(ad, PEER2), 1.0)  # arrived at 1.0, read later
    assert engine.machine("VI_2").get_timer() == pytest.approx(1.0 + 3.609375, abs=EXACT)
    engine.interface_state("eth9", True, 2.0)  # handled at 2.0
    engine.receive_packet("eth1", PEER2, MCAST_V4, 255, wire(ad, PEER2), 1.5)  # arrived before that
    assert engine.clock == 2.0
    assert engine.machine("VI_2").get_timer() == pytest.approx(2.0 + 3.609375, abs=EXACT)


# --- sync groups -----------------------------------------------------------------------------


def test_sync_group_member_becoming_master_takes_the_whole_group():
    engine = Engine(grouped(), PRIMARY)
    engine.start(0.0)
    ad = advert_for(engine.machine("VI_2"), 150)
    engine.receive_packet("eth1", PEER2, MCAST_V4, 255, wire(ad, PEER2), 3.0)  # VI_2 alone would wait
    _, out = run(engine, 3.0, 3.7)
    assert changes(out) == [
        (State.BACKUP, State.MASTER, Reason.TIMEOUT),
        (State.BACKUP, State.MASTER, Reason.SYNC_GROUP),
    ]
    assert [o.instance for o in out if isinstance(o, SendAdvert)] == ["VI_1", "VI_2"]


def test_sync_group_member_stepping_down_takes_the_group_to_backup():
    engine = Engine(grouped(), PRIMARY)
    engine.start(0.0)
    now, _ = run(engine, 0.0, 4.0)
    ad = advert_for(engine.machine("VI_1"), 200)
    out = engine.receive_packet("eth0", PEER, MCAST_V4, 255, wire(ad), now)
    assert changes(out) == [
        (State.MASTER, State.BACKUP, Reason.HIGHER_PRIORITY),
        (State.MASTER, State.BACKUP, Reason.SYNC_GROUP),
    ]
    # the member that was pulled along resigns so its own backups take over at once
    # VI_1 advertises once as it steps down (higher_prio_send_advert, vrrptui's default)
    assert [(o.instance, o.priority) for o in out if isinstance(o, SendAdvert)] == [("VI_1", 100), ("VI_2", 0)]


def test_sync_group_fault_moves_every_member_to_fault_and_back():
    chk = VrrpScript("chk", "/bin/true", weight=0)
    cfg = grouped(scripts=(chk,))
    cfg = replace(cfg, instances=(replace(VI_1, track_scripts=(TrackScript("chk"),)), VI_2))
    engine = Engine(cfg, PRIMARY)
    engine.start(0.0)
    engine.script_state("chk", True, 0.0)  # its first run
    now, _ = run(engine, 0.0, 4.0)
    out = engine.script_state("chk", False, now)
    assert logs(out)[0] == "VRRP_Script(chk) failed"
    assert changes(out) == [
        (State.MASTER, State.FAULT, Reason.FAULT),
        (State.MASTER, State.FAULT, Reason.SYNC_GROUP),
    ]
    assert [o for o in out if isinstance(o, RemoveVips)] == [RemoveVips("VI_1"), RemoveVips("VI_2")]
    back = engine.script_state("chk", True, now + 1)
    assert changes(back) == [
        (State.FAULT, State.BACKUP, Reason.RECOVERED),
        (State.FAULT, State.BACKUP, Reason.SYNC_GROUP),
    ]


def group_notifies(out: list[Output]) -> list[RunGroupNotify]:
    return [o for o in out if isinstance(o, RunGroupNotify)]


def test_sync_group_notify_runs_once_per_group_state_after_its_members():
    chk = VrrpScript("chk", "/bin/true", weight=0)
    cfg = grouped(scripts=(chk,))
    cfg = replace(cfg, instances=(replace(VI_1, track_scripts=(TrackScript("chk"),)), VI_2))
    engine = Engine(cfg, PRIMARY)
    out = engine.start(0.0) + engine.script_state("chk", True, 0.0)  # VI_1 leaves INIT with chk's first run
    assert group_notifies(out) == [RunGroupNotify("G1", "BACKUP")]
    assert out.index(RunGroupNotify("G1", "BACKUP")) > max(i for i, o in enumerate(out) if isinstance(o, RunNotify))
    now, out = run(engine, 0.0, 4.0)
    assert group_notifies(out) == [RunGroupNotify("G1", "MASTER")]  # once, when both members are MASTER
    assert group_notifies(run(engine, now, now + 4.0)[1]) == []  # adverts alone change nothing
    out = engine.script_state("chk", False, now)
    assert group_notifies(out) == [RunGroupNotify("G1", "FAULT")]
    assert "VRRP_Group(G1) Syncing instances to FAULT state" in logs(out)  # keepalived's line
    out = engine.script_state("chk", True, now + 1)
    assert group_notifies(out) == [RunGroupNotify("G1", "BACKUP")]
    out = engine.shutdown(now + 2)
    assert group_notifies(out) == [RunGroupNotify("G1", "STOP")]
    assert out[-1] == RunGroupNotify("G1", "STOP")  # after the members' own STOP


def test_sync_group_stepping_down_notifies_backup():
    engine = Engine(grouped(), PRIMARY)
    engine.start(0.0)
    now, _ = run(engine, 0.0, 4.0)
    out = engine.receive_packet("eth0", PEER, MCAST_V4, 255, wire(advert_for(engine.machine("VI_1"), 200)), now)
    assert group_notifies(out) == [RunGroupNotify("G1", "BACKUP")]


def test_ungrouped_instances_run_no_group_notify():
    engine = Engine(config(), PRIMARY)
    assert group_notifies(engine.start(0.0) + run(engine, 0.0, 4.0)[1] + engine.shutdown(4.0)) == []


def test_reload_that_removes_a_sync_group_tells_its_scripts_stop():
    engine = Engine(grouped(), PRIMARY)
    engine.start(0.0)
    out = engine.reload(config(), PRIMARY, 1.0)
    assert group_notifies(out) == [RunGroupNotify("G1", "STOP")]


# --- trackers through the engine -------------------------------------------------------------


def test_interface_state_is_logged_and_reaches_the_instance_on_it():
    engine = Engine(config(), PRIMARY)
    engine.start(0.0)
    out = engine.interface_state("eth1", False, 1.0)
    assert logs(out) == ["Netlink reports eth1 down", "(VI_2) Entering FAULT STATE"]
    assert (state(engine, "VI_1"), state(engine, "VI_2")) == (State.BACKUP, State.FAULT)


def test_script_failure_is_logged_in_keepalived_words_with_its_exit_status():
    engine = Engine(config(), PRIMARY)
    engine.start(0.0)
    out = engine.script_state("chk", False, 1.0, exit_status=1)
    assert logs(out) == ["VRRP_Script(chk) failed (exited with status 1)"]
    assert logs(engine.script_state("chk", True, 2.0, exit_status=0)) == ["VRRP_Script(chk) succeeded"]
    assert logs(engine.script_state("chk", False, 3.0, exit_status=-9)) == ["VRRP_Script(chk) failed (due to signal 9)"]


def test_script_timeout_is_logged_as_timed_out_only():
    engine = Engine(config(), PRIMARY)
    engine.start(0.0)
    assert logs(engine.script_state("chk", False, 1.0, timed_out=True)) == ["VRRP_Script(chk) timed_out"]


def test_script_result_is_logged_once_per_change():
    engine = Engine(config(), PRIMARY)
    engine.start(0.0)
    assert logs(engine.script_state("chk", True, 1.0)) == ["VRRP_Script(chk) succeeded"]
    assert logs(engine.script_state("chk", True, 2.0)) == []


# --- operator ------------------------------------------------------------------------------------


def test_operator_commands_name_the_known_instances_when_the_name_is_wrong():
    engine = Engine(config(), PRIMARY)
    with pytest.raises(CommandError, match=r"no vrrp_instance 'VI_9' .*instances: VI_1, VI_2"):
        engine.command(Demote("VI_9"), 0.0)


def test_operator_demote_and_resume_through_the_engine():
    engine = Engine(config(VI_1), PRIMARY)
    engine.start(0.0)
    now, _ = run(engine, 0.0, 4.0)
    out = engine.command(Demote("VI_1"), now)
    assert sends(out) == [0]
    assert engine.status(now)[0].held == "demoted"
    engine.command(Resume("VI_1"), now)
    _, out = run(engine, now, now + 4.0)
    assert changes(out) == [(State.BACKUP, State.MASTER, Reason.TIMEOUT)]


@pytest.mark.parametrize("priority", [0, 255, 300, -1])
def test_set_priority_outside_1_to_254_is_refused_by_the_engine(priority):
    engine = Engine(config(), PRIMARY)
    with pytest.raises(CommandError, match="out of range: use 1-254"):
        engine.command(SetPriority("VI_1", priority), 0.0)


@pytest.mark.parametrize("priority", ["150", 150.0, 1e400, True, None, [150]])
def test_set_priority_that_is_not_a_whole_number_is_refused_by_the_engine(priority):
    engine = Engine(config(), PRIMARY)
    with pytest.raises(CommandError, match="not a whole number"):
        engine.command(SetPriority("VI_1", priority), 0.0)


# --- lifecycle ---------------------------------------------------------------------------------


def test_shutdown_resigns_masters_and_stops_backups():
    engine = Engine(config(VI_1, replace(VI_2, priority=50)), PRIMARY)
    engine.start(0.0)
    ad = advert_for(engine.machine("VI_2"), 150)
    engine.receive_packet("eth1", PEER2, MCAST_V4, 255, wire(ad, PEER2), 3.0)
    now, _ = run(engine, 0.0, 4.0)
    out = engine.shutdown(now)
    assert actions(out) == [
        SendAdvert("VI_1", 0),
        StopGratuitous("VI_1"),
        RemoveVips("VI_1"),
        RunNotify("VI_1", "STOP", 100),
        RunNotify("VI_2", "STOP", 50),
    ]
    assert engine.get_timer() is None


def test_a_reload_after_shutdown_starts_nothing():
    """The runtime abandons a reload that a stop overtook; the engine holds the same line on its own: after
    shutdown, no machine starts, so no timer, advert or VIP follows the resign."""
    engine = Engine(config(VI_1), PRIMARY)
    engine.start(0.0)
    now, _ = run(engine, 0.0, 4.0)
    engine.shutdown(now)
    out = engine.reload(config(VI_1, replace(VI_2, priority=200)), PRIMARY, now)
    assert out == [] and engine.get_timer() is None
    assert [s.state for s in engine.status(now)] == ["INIT", "INIT"]
    assert run(engine, now, now + 4.0)[1] == []


@pytest.mark.parametrize("cmd", [Demote("VI_1"), Resume("VI_1"), SetPriority("VI_1", 200)])
def test_commands_after_shutdown_are_refused(cmd):
    engine = Engine(config(VI_1), PRIMARY)
    engine.start(0.0)
    now, _ = run(engine, 0.0, 4.0)
    engine.shutdown(now)
    with pytest.raises(CommandError, match="vrrptui is stopping"):
        engine.command(cmd, now)
    assert engine.get_timer() is None


def test_reload_keeps_unchanged_instances_and_restarts_changed_ones():
    engine = Engine(config(), PRIMARY)
    engine.start(0.0)
    now, _ = run(engine, 0.0, 4.0)
    vi1 = engine.machine("VI_1")
    new = config(VI_1, replace(VI_2, priority=120))
    out = engine.reload(new, PRIMARY, now)
    assert engine.machine("VI_1") is vi1 and vi1.state is State.MASTER
    assert all(getattr(o, "instance", "VI_2") == "VI_2" for o in out)  # VI_1 untouched: no outputs
    assert changes(out) == [
        (State.MASTER, State.INIT, Reason.RELOAD),
        (State.INIT, State.BACKUP, Reason.STARTUP),
    ]
    assert sends(out) == [0]  # the old VI_2 resigned
    assert engine.machine("VI_2").effective_priority == 120


def test_reload_stops_removed_instances():
    engine = Engine(config(), PRIMARY)
    engine.start(0.0)
    now, _ = run(engine, 0.0, 4.0)
    out = engine.reload(config(VI_1), PRIMARY, now)
    assert changes(out) == [(State.MASTER, State.INIT, Reason.RELOAD)]
    assert RemoveVips("VI_2") in out
    assert [s.name for s in engine.status(now)] == ["VI_1"]


def test_reload_restarts_an_instance_whose_script_changed():
    cfg = config(replace(VI_1, track_scripts=(TrackScript("chk"),)), scripts=(VrrpScript("chk", "/bin/a", weight=-10),))
    engine = Engine(cfg, PRIMARY)
    engine.start(0.0)
    out = engine.reload(replace(cfg, scripts=(VrrpScript("chk", "/bin/a", weight=-30),)), PRIMARY, 1.0)
    assert changes(out) == [(State.BACKUP, State.INIT, Reason.RELOAD), (State.INIT, State.BACKUP, Reason.STARTUP)]


def test_reloaded_instance_starts_with_the_current_link_state():
    engine = Engine(config(), PRIMARY)
    engine.start(0.0)
    engine.interface_state("eth1", False, 1.0)
    out = engine.reload(config(VI_1, replace(VI_2, priority=120)), PRIMARY, 2.0)
    assert changes(out)[-1] == (State.INIT, State.FAULT, Reason.FAULT)


def test_an_instance_without_a_source_address_is_refused_with_what_to_do():
    with pytest.raises(ValueError, match="VI_1: no source address known for interface eth0"):
        Engine(config(VI_1), {})


def test_an_instance_starting_with_no_address_on_its_interface_waits_in_fault():
    # The runtime gives 0.0.0.0 when the interface has no IPv4 address (yet: DHCP, networkd at boot). Without
    # one no advert can leave, so the instance must not take the VIP after Master_Down_Interval: FAULT, as
    # keepalived ("no IPv4 address for interface"), until an address comes.
    engine = Engine(config(VI_1), {"VI_1": ipaddress.IPv4Address("0.0.0.0")})
    out = engine.start(0.0)
    assert changes(out) == [(State.INIT, State.FAULT, Reason.FAULT)]
    assert engine.machine("VI_1").get_timer() is None
    engine.set_primary_address("VI_1", ME, 1.0)
    back = engine.address_state("VI_1", True, 1.0)
    assert changes(back) == [(State.FAULT, State.BACKUP, Reason.RECOVERED)]


def test_unicast_src_ip_is_the_primary_address_when_none_is_given():
    engine = Engine(config(replace(VI_1, unicast_src_ip=ME)), {})
    assert engine.status(0.0)[0].primary_address == "192.168.1.11"


def test_global_vrrp_check_unicast_src_reaches_the_instances():
    engine = Engine(config(VI_1, global_defs=GlobalDefs(vrrp_check_unicast_src=True)), PRIMARY)
    assert engine.machine("VI_1").check_unicast_src is True


# --- advert bytes ---------------------------------------------------------------------------------


def test_advert_bytes_encode_the_instance_and_are_cached():
    engine = Engine(config(), PRIMARY)
    data = engine.advert_bytes("VI_1", 100, ME, MCAST_V4)
    assert engine.advert_bytes("VI_1", 100, ME, MCAST_V4) is data
    back = decode(data, ME, MCAST_V4)
    assert (back.version, back.vrid, back.priority, back.max_advert_int) == (2, 51, 100, 1.0)
    assert back.addresses == (ipaddress.IPv4Address("192.168.1.100"),)
    assert decode(engine.advert_bytes("VI_1", 0, ME, MCAST_V4), ME, MCAST_V4).priority == 0


def test_status_lists_every_instance_in_config_order():
    engine = Engine(config(), PRIMARY)
    engine.start(0.0)
    assert [(s.name, s.state) for s in engine.status(1.0)] == [("VI_1", "BACKUP"), ("VI_2", "BACKUP")]


def test_the_engine_imports_without_textual():
    import subprocess
    import sys

    code = "import sys; sys.modules['textual'] = None; import vrrptui.engine.engine, vrrptui.engine.machine"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True).returncode == 0


# --- scripts refused as insecure ---------------------------------------------------------------


def refused_setup() -> Config:
    """VI_1 tracks `gate` (weight 0, starts failed) and `bonus` (+50); both will be refused."""
    scripts = (VrrpScript("gate", "/bin/a", weight=0, init_fail=True), VrrpScript("bonus", "/bin/b", weight=50))
    tracks = (TrackScript("gate"), TrackScript("bonus"))
    return config(replace(VI_1, track_scripts=tracks), VI_2, scripts=scripts)


def test_refused_script_before_start_applies_no_weight_and_no_fault():
    engine = Engine(refused_setup(), PRIMARY)
    assert engine.disable_script("gate", 0.0) == []
    assert engine.disable_script("bonus", 0.0) == []
    engine.start(0.0)
    vi1 = engine.status(0.0)[0]
    assert (vi1.state, vi1.effective_priority, vi1.priority_reason, vi1.trackers) == ("BACKUP", 100, "", ())
    _, out = run(engine, 0.0, 4.0)
    assert changes(out)[0] == (State.BACKUP, State.MASTER, Reason.TIMEOUT)


def test_refusing_a_running_script_clears_its_fault_and_its_weight():
    engine = Engine(refused_setup(), PRIMARY)
    out = engine.start(0.0)
    engine.script_state("bonus", True, 0.5)  # its first run
    assert engine.machine("VI_1").state is State.FAULT and engine.machine("VI_1").effective_priority == 150
    out = engine.disable_script("gate", 1.0)
    assert changes(out) == [(State.FAULT, State.BACKUP, Reason.RECOVERED)]
    out = engine.disable_script("bonus", 1.0)
    assert logs(out) == ["(VI_1) Changing effective priority from 150 to 100"]
    assert engine.script_state("gate", False, 2.0) == []  # a refused script has no results to take


def test_reload_keeps_refused_scripts_out_and_restarts_an_instance_whose_script_became_runnable():
    cfg = refused_setup()
    engine = Engine(cfg, PRIMARY)
    engine.disable_script("gate", 0.0)
    engine.disable_script("bonus", 0.0)
    engine.start(0.0)
    kept = engine.machine("VI_1")
    out = engine.reload(cfg, PRIMARY, 1.0, disabled_scripts={"gate", "bonus"})
    assert out == [] and engine.machine("VI_1") is kept
    out = engine.reload(cfg, PRIMARY, 2.0, disabled_scripts={"bonus"})  # gate's permissions were fixed
    assert changes(out) == [(State.BACKUP, State.INIT, Reason.RELOAD), (State.INIT, State.FAULT, Reason.FAULT)]
    assert engine.machine("VI_1").effective_priority == 100


# --- primary address changes -----------------------------------------------------------------------


def test_new_primary_address_is_the_source_of_status_and_elections():
    engine = Engine(config(VI_1), PRIMARY)
    engine.start(0.0)
    now, _ = run(engine, 0.0, 4.0)
    moved = ipaddress.IPv4Address("192.168.1.13")  # now above the peer's .12
    out = engine.set_primary_address("VI_1", moved, now)
    assert logs(out) == ["(VI_1) source address changed from 192.168.1.11 to 192.168.1.13"]
    assert actions(out) == []  # the next advert simply comes from it
    st = engine.status(now)[0]
    assert (st.primary_address, st.master_address) == ("192.168.1.13", "192.168.1.13")
    assert engine.set_primary_address("VI_1", moved, now) == []
    # equal priority from .12: RFC 5798 6.4.3 compares against the new address, so we stay MASTER
    out = engine.receive_packet("eth0", PEER, MCAST_V4, 255, wire(advert_for(engine.machine("VI_1"), 100)), now)
    assert changes(out) == [] and state(engine, "VI_1") is State.MASTER


# --- the decode cache ----------------------------------------------------------------------


def test_identical_bytes_decode_once_per_source_and_destination():
    v3 = config(replace(VI_1, version=3, advert_int=0.1))
    engine = Engine(v3, PRIMARY)
    engine.start(0.0)
    payload = wire(advert_for(engine.machine("VI_1"), 150))  # v3: the checksum covers PEER -> 224.0.0.18
    first = engine.decode(payload, PEER, MCAST_V4)
    again = engine.decode(bytes(payload), ipaddress.IPv4Address(str(PEER)), ipaddress.IPv4Address(str(MCAST_V4)))
    assert isinstance(first, Advert) and again is first  # equal addresses, other objects: the same Advert
    out = engine.receive_packet("eth0", PEER2, MCAST_V4, 255, payload, 1.0)  # same bytes, another source
    assert [(o.instance, o.reason) for o in out if isinstance(o, Dropped)] == [("VI_1", DropReason.CHECKSUM)]
    assert not engine.receive_packet("eth0", PEER, MCAST_V4, 255, payload, 1.1)
    assert engine.machine("VI_1").counters.adverts_received == 2
