"""Health verdicts and alarms, on a fake clock (VRRPv2 at 1 s unless said otherwise)."""

from __future__ import annotations

from vrrptui.engine.outputs import Counters
from vrrptui.engine.status import InstanceStatus
from vrrptui.observe.health import Alarms, Code, Level, RouterSeen, assess, silence_limit
from vrrptui.records import RouterKey

KEY = RouterKey("eth0", 150, 4)
ME, PEER = "192.168.1.11", "192.168.1.12"


def instance(state: str = "BACKUP", held: str | None = None, since: float = 0.0) -> InstanceStatus:
    return InstanceStatus(
        name="VI_1", interface="eth0", vrid=150, version=2, family=4, state=state, state_since=since,
        configured_priority=100, effective_priority=100, priority_reason="", primary_address=ME,
        master_address=PEER, master_priority=101, advert_int=1.0, learned_advert_int=None, skew_time=0.609,
        master_down_interval=3.609, master_down_at=None, preempt=True, preempt_delay=0.0,
        last_transition="", last_reason="", vips=("192.168.1.13/24",), vmac=None, unicast_peers=(), trackers=(),
        held=held, counters=Counters())


def peer(last: float | None, priority: int = 101, answers_vip: bool = False, mismatches=()) -> RouterSeen:
    return RouterSeen(PEER, False, priority, last, 1.0, 2, tuple(mismatches), answers_vip)


def us(last: float | None, priority: int = 100) -> RouterSeen:
    return RouterSeen(ME, True, priority, last, 1.0, 2)


def test_silence_limit_is_the_slowest_backups_master_down_interval_plus_half_an_interval():
    assert silence_limit(2, 1.0) == 3 + 255 / 256 + 0.5
    assert round(silence_limit(3, 0.1), 6) == round(0.3 + 255 * 0.1 / 256 + 0.05, 6)


def test_backup_watching_a_live_master_is_ok():
    v = assess(KEY, 100.0, instance=instance(), routers=[peer(99.6)])
    assert (v.code, v.level, v.text) == (Code.OK, Level.OK, f"ok: master {PEER}")


def test_master_that_missed_adverts_is_silent_until_a_backup_should_have_taken_over():
    v = assess(KEY, 101.6, instance=instance(), routers=[peer(100.0)])
    assert (v.code, v.level, v.text) == (Code.MASTER_SILENT, Level.WARN, f"master {PEER} silent 1.6 s: takeover due")
    assert assess(KEY, 101.4, instance=instance(), routers=[peer(100.0)]).code is Code.OK


def test_frozen_master_still_answers_arp_and_is_told_apart_from_a_dead_one():
    frozen = assess(KEY, 124.0, instance=instance(), routers=[peer(100.0, answers_vip=True)])
    assert frozen.code is Code.NO_MASTER and frozen.level is Level.ALARM and frozen.since == 100.0
    assert frozen.text == f"NO MASTER for 24.0 s: master {PEER} frozen (answers ARP for the VIP, sends no adverts)"
    dead = assess(KEY, 104.6, instance=instance(), routers=[peer(100.0)])
    assert dead.text == f"NO MASTER for 4.6 s: master {PEER} silent (dead or cut off)"


def test_demoted_router_with_a_frozen_master_raises_no_master():
    """Bug 3: `d`, then the peer frozen with kill -STOP: nobody advertises, and the verdict says so."""
    routers = [us(10.0, priority=0), peer(10.2, answers_vip=True)]
    v = assess(KEY, 34.2, instance=instance(held="demoted", since=10.0), routers=routers)
    assert v.code is Code.NO_MASTER
    assert v.text == (f"NO MASTER for 24.0 s: master {PEER} frozen (answers ARP for the VIP, sends no adverts), "
                      "this router held (demoted): r resumes")


def test_every_router_held_or_resigned_is_all_routers_held():
    routers = [us(10.0, priority=0), peer(12.0, priority=0)]
    v = assess(KEY, 20.0, instance=instance(held="demoted"), routers=routers)
    assert (v.code, v.text) == (Code.ALL_HELD, f"NO MASTER for 8.0 s: master {PEER} resigned, all routers held")


def test_held_backup_behind_a_live_master_is_a_silent_backup():
    v = assess(KEY, 100.0, instance=instance(held="failed"), routers=[peer(99.5)])
    assert v.code is Code.BACKUP_SILENT and v.level is Level.WARN
    assert v.text == "backup silent: held (failed), no takeover if the master fails; r resumes"


def test_split_brain_comes_first():
    v = assess(KEY, 100.0, instance=instance("MASTER"), routers=[us(99.9), peer(99.8)], split_brain=(ME, PEER))
    assert (v.code, v.text) == (Code.SPLIT_BRAIN, f"split brain: masters {ME}, {PEER}")


def test_peer_with_another_config_is_flagged_while_the_vrid_has_a_master():
    v = assess(KEY, 100.0, instance=instance("MASTER"), routers=[us(99.9), peer(None, mismatches=("interval",))])
    assert (v.code, v.text) == (Code.CONFIG_DIFFERS, f"peer config differs: {PEER} interval")


def test_a_master_here_is_ok_even_when_nobody_else_speaks():
    v = assess(KEY, 100.0, instance=instance("MASTER"), routers=[us(99.0)])
    assert (v.code, v.text) == (Code.OK, "ok: master this host")


def test_backup_that_never_heard_a_master_is_starting_then_no_master():
    assert assess(KEY, 3.0, instance=instance(held="demoted"), routers=[]).code is Code.STARTING
    v = assess(KEY, 30.0, instance=instance(held="demoted"), routers=[])
    assert (v.code, v.text) == (Code.ALL_HELD, "NO MASTER for 30.0 s: all routers held")


def test_sniff_mode_judges_a_vrid_from_the_wire_alone():
    v = assess(KEY, 110.0, instance=None, routers=[peer(100.0)])
    assert (v.code, v.instance, v.scope) == (Code.NO_MASTER, None, "eth0 vrid 150 IPv4")


def test_alarms_are_raised_once_and_cleared_once():
    alarms = Alarms()
    ok = assess(KEY, 100.0, instance=instance(), routers=[peer(99.6)])
    assert alarms.update([ok], 100.0) == []
    silent = assess(KEY, 101.6, instance=instance(), routers=[peer(100.0)])
    (raised,) = alarms.update([silent], 101.6)
    assert raised.raised
    assert raised.text() == f"ALARM VI_1 (eth0 vrid 150 IPv4): master {PEER} silent 1.6 s: takeover due"
    gone = assess(KEY, 106.0, instance=instance(), routers=[peer(100.0)])
    late_over, worse = alarms.update([gone], 106.0)
    assert late_over.cleared is raised.verdict and worse.raised and worse.verdict.code is Code.NO_MASTER
    assert alarms.update([assess(KEY, 107.0, instance=instance(), routers=[peer(100.0)])], 107.0) == []
    assert [v.text for v in alarms.active()] == [f"NO MASTER for 7.0 s: master {PEER} silent (dead or cut off)"]
    back = assess(KEY, 108.0, instance=instance(), routers=[peer(107.9)])
    (cleared,) = alarms.update([back], 108.0)
    assert not cleared.raised
    assert cleared.text() == f"cleared VI_1 (eth0 vrid 150 IPv4): no master over (ok: master {PEER})"
    assert alarms.active() == []
