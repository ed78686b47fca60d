"""Hostile adverts against the sans-I/O engine (fake clock): RFC 5798 7.1 checks on every advert, the
address owner's priority is final, bounded log lines and replies under floods, operator holds.
Plus a hypothesis fuzz of the whole receive path (Engine.receive_packet on arbitrary bytes)."""

from __future__ import annotations

import ipaddress
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_engine import PRIMARY, config, wire
from test_machine import ME, PEER, Clock, advert_for, as_master, instance, logs, machine, sends, v3_instance, vip

from vrrptui.config.model import Authentication, Config, GlobalDefs
from vrrptui.engine.engine import Engine
from vrrptui.engine.machine import LOG_RATE_LIMIT, REPLY_BURST
from vrrptui.engine.outputs import Dropped, LogLine, LowerPriorityGratuitous, Output, RunNotify, State
from vrrptui.engine.ratelimit import LogLimiter, TokenBucket
from vrrptui.protocol.packet import MCAST_V4, MCAST_V6, Advert, DropReason, encode

HIGHER = ipaddress.IPv4Address("192.168.1.200")


def random_sources(n: int) -> list[ipaddress.IPv4Address]:
    return [ipaddress.IPv4Address(0x0A000000 + i) for i in range(n)]


# --- the address owner ----------------------------------------------------------------------


def owner_master() -> Clock:
    clock = Clock(machine(instance(priority=255)))
    clock.start()
    assert clock.m.state is State.MASTER
    return clock


def test_owner_discards_a_spoofed_priority_255_advert_from_a_higher_address():
    clock = owner_master()
    out = clock.receive(advert_for(clock.m, 255), src=HIGHER)
    assert clock.m.state is State.MASTER
    assert [(o.reason, o.src) for o in out if isinstance(o, Dropped)] == [(DropReason.OWNER_CONFLICT, HIGHER)]
    assert logs(out) == ["(VI_1) advert from 192.168.1.200 claims priority 255 but we own the addresses"]
    assert clock.m.counters.drops["owner_conflict"] == 1
    assert clock.m.status(clock.now).counters.drops["owner_conflict"] == 1


def test_owner_keeps_master_through_a_flood_of_spoofed_owners_and_keeps_advertising():
    clock = owner_master()
    sent = []
    for src in random_sources(2000):  # 10 s of flood
        sent += sends(clock.advance(0.005))
        clock.receive(advert_for(clock.m, 255), src=src)
    assert clock.m.state is State.MASTER
    assert clock.m.counters.drops["owner_conflict"] == 2000
    assert sent == [255] * 10


def test_owner_still_answers_a_lower_priority_master():
    clock = owner_master()
    out = clock.receive(advert_for(clock.m, 100), src=HIGHER)
    assert sends(out) == [255]


def test_non_owner_master_still_yields_to_a_real_owner():
    clock = as_master()
    clock.receive(advert_for(clock.m, 255), src=HIGHER)
    assert clock.m.state is State.BACKUP


# --- log lines under floods: one per reason per LOG_RATE_LIMIT, whatever the sources -------------------


def test_wrong_password_flood_from_random_sources_logs_one_line_per_window():
    clock = Clock(machine(instance(authentication=Authentication("PASS", "1212"))))
    clock.start()
    lines: list[str] = []
    for i, src in enumerate(random_sources(10_000)):
        clock.now = i * 0.002  # 20 s of flood
        lines += logs(clock.receive(advert_for(clock.m, 150, auth_data=b"9999\0\0\0\0"), src=src))
    assert len(lines) == 2  # at 0 s and at LOG_RATE_LIMIT s
    assert lines[1].endswith(f"! ({int(LOG_RATE_LIMIT / 0.002) - 1} similar lines suppressed)")
    assert clock.m.counters.drops["auth"] == 10_000
    assert len(clock.m._log_limit._next) == 1  # bounded by the reasons, not the sources


def test_flood_does_not_touch_the_backup_down_timer():
    clock = Clock(machine(instance(authentication=Authentication("PASS", "1212"))))
    clock.start()
    clock.receive(advert_for(clock.m, 150))
    deadline = clock.m.get_timer()
    for src in random_sources(1000):
        clock.receive(advert_for(clock.m, 200, auth_data=b"x\0\0\0\0\0\0\0"), src=src)
    assert clock.m.get_timer() == deadline


def test_a_flood_leaves_one_timer_entry_per_machine():
    # every received advert used to push a heap entry, live until the deadline passed: 10 MB per 100k
    engine = Engine(config(instance(authentication=Authentication("PASS", "1212"))), PRIMARY)
    engine.start(0.0)
    bad = replace(engine.machine("VI_1").advert(200), auth_data=b"9999\0\0\0\0")
    for i, src in enumerate(random_sources(5000)):
        engine.receive_packet("eth0", src, MCAST_V4, 255, wire(bad, src), 0.5 + i * 1e-4)
    assert len(engine._deadlines) == 1
    assert engine.get_timer() == pytest.approx(3.609375)


def test_engine_logs_unknown_vrids_at_a_bounded_rate_and_counts_them():
    engine = Engine(config(), PRIMARY)
    engine.start(0.0)
    out: list[Output] = []
    for i, src in enumerate(random_sources(5000)):
        stray = Advert(2, 1 + i % 200, 100, 1.0, (ipaddress.IPv4Address("192.168.1.9"),))
        out += engine.receive_packet("eth0", src, MCAST_V4, 255, wire(stray, src), i * 0.004)
    lines = [o for o in out if isinstance(o, LogLine) and o.text.startswith("dropped packet")]
    assert len(lines) == 2 and all(line.detail for line in lines)
    assert engine.drops["vrid"] == 5000 - 25  # VRID 51 is VI_1's, the rest are no instance's


# --- replies to lower-priority and priority-0 adverts: a token bucket ------------------------------------


def test_master_replies_to_a_lower_priority_flood_at_a_bounded_rate():
    clock = as_master(v3_instance())
    start = clock.now
    replies = 0
    for i, src in enumerate(random_sources(10_000)):
        clock.now = start + i * 0.0001  # 10,000 adverts in 1 s
        replies += len(sends(clock.receive(advert_for(clock.m, 50), src=src)))
    # REPLY_BURST at once, then one per advert interval (0.1 s) for the second
    assert replies == REPLY_BURST + 9
    assert clock.m.counters.replies_limited == 10_000 - replies
    assert clock.m.state is State.MASTER


def test_master_replies_to_priority_zero_at_a_bounded_rate_and_keeps_its_cadence():
    clock = as_master(v3_instance())
    start = clock.now
    replies = sum(len(sends(clock.receive(advert_for(clock.m, 0), src=src))) for src in random_sources(1000))
    assert replies == REPLY_BURST
    assert clock.now == start
    out = clock.advance(1.0)
    assert len(sends(out)) >= 9  # regular adverts go on


def test_lower_priority_flood_cannot_multiply_garps_or_notify_scripts():
    clock = as_master(v3_instance(garp_lower_prio_repeat=5))
    start = clock.now
    out: list[Output] = []
    for i, src in enumerate(random_sources(10_000)):
        clock.now = start + i * 0.0001
        out += clock.receive(advert_for(clock.m, 50), src=src)
    garps = [o for o in out if isinstance(o, LowerPriorityGratuitous)]
    notifies = [o for o in out if isinstance(o, RunNotify) and o.state == "MASTER_RX_LOWER_PRI"]
    assert len(garps) == len(notifies) == len(sends(out)) == REPLY_BURST + 9


def test_occasional_lower_priority_adverts_are_each_answered():
    clock = as_master(v3_instance())
    for _ in range(20):
        clock.advance(0.1)
        assert sends(clock.receive(advert_for(clock.m, 50))) == [100]


def test_log_limiter_and_token_bucket():
    limiter = LogLimiter(10.0)
    assert [limiter.text("k", t, "x") for t in (0.0, 1.0, 2.0, 10.0, 10.5)] == [
        "x", None, None, "x (2 similar lines suppressed)", None]
    bucket = TokenBucket(rate=2.0, burst=2)
    assert [bucket.take(t) for t in (0.0, 0.0, 0.0, 0.5, 0.5, 5.0, 5.0, 5.0)] == [
        True, True, False, True, False, True, True, False]


# --- operator holds: d and f hold until r -----------------------------------------------------------------


def test_forced_takeover_holds_against_a_live_higher_priority_master_until_resume():
    clock = Clock(machine(v3_instance(priority=100)))
    clock.start()
    clock.receive(advert_for(clock.m, 200))
    clock.m.failover(clock.now)
    assert (clock.m.state, clock.m.effective_priority, clock.m.held) == (State.MASTER, 254, "forced")
    for _ in range(50):  # the old master goes on advertising 200: we stay MASTER and answer it
        clock.advance(0.1)
        clock.receive(advert_for(clock.m, 200))
    assert clock.m.state is State.MASTER
    assert clock.m.status(clock.now).priority_reason == "operator forced takeover"
    clock.m.resume(clock.now)
    assert clock.m.effective_priority == 100
    clock.receive(advert_for(clock.m, 200))
    assert clock.m.state is State.BACKUP


def test_forced_takeover_yields_to_the_address_owner():
    clock = Clock(machine(v3_instance()))
    clock.start()
    clock.m.failover(clock.now)
    clock.receive(advert_for(clock.m, 255), src=HIGHER)
    assert clock.m.state is State.BACKUP
    assert clock.m.held == "forced"


def test_demote_and_failed_hold_backup_through_a_dead_master_until_resume():
    for command in ("demote", "failover"):
        clock = as_master(v3_instance())
        getattr(clock.m, command)(clock.now)
        clock.advance(10.0)
        assert clock.m.state is State.BACKUP, command
        clock.receive(advert_for(clock.m, 0))
        clock.advance(10.0)
        assert clock.m.state is State.BACKUP, command
        clock.m.resume(clock.now)
        clock.advance(1.0)
        assert clock.m.state is State.MASTER, command


# --- fuzz: nothing a packet carries can raise or break an owner -------------------------------------------

FUZZ = settings(max_examples=300, deadline=None)
sources4 = st.sampled_from([PEER, HIGHER, ME, ipaddress.IPv4Address("10.0.0.1")])


def owner_engine() -> Engine:
    cfg = Config(
        path="fuzz.conf",
        global_defs=GlobalDefs(vrrp_check_unicast_src=True),
        instances=(
            instance(priority=255),
            replace(v3_instance(name="VI_3", vrid=52), authentication=None),
            instance(name="VI_P", vrid=53, authentication=Authentication("PASS", "secret")),
        ),
    )
    engine = Engine(cfg, {"VI_1": ME, "VI_3": ME, "VI_P": ME})
    engine.start(0.0)
    return engine


@st.composite
def packets(draw: st.DrawFn) -> tuple[ipaddress.IPv4Address, ipaddress.IPv4Address, int, bytes]:
    src = draw(sources4)
    dst = draw(st.sampled_from([MCAST_V4, ME]))
    ttl = draw(st.integers(0, 255))
    if draw(st.booleans()):
        payload = draw(st.binary(max_size=80))
    else:
        advert = Advert(
            draw(st.sampled_from([2, 3])),
            draw(st.sampled_from([51, 52, 53, 99])),
            draw(st.integers(0, 255)),
            draw(st.sampled_from([1.0, 0.1, 0.01, 40.95])),
            tuple(draw(st.lists(st.sampled_from([ipaddress.IPv4Address("192.168.1.100"), HIGHER]),
                                min_size=1, max_size=3))),
            auth_type=draw(st.sampled_from([0, 1, 2])),
            auth_data=draw(st.binary(min_size=8, max_size=8)),
        )
        payload = bytearray(encode(advert, src, dst))
        if draw(st.booleans()) and payload:
            payload[draw(st.integers(0, len(payload) - 1))] ^= draw(st.integers(1, 255))
        payload = bytes(payload)
    return src, dst, ttl, payload


@FUZZ
@given(st.lists(packets(), max_size=30))
def test_fuzz_receive_path_never_raises_and_the_owner_stays_master(stream):
    engine = owner_engine()
    now = 0.0
    for src, dst, ttl, payload in stream:
        now += 0.01
        out = engine.receive_packet("eth0", src, dst, ttl, payload, now)
        assert isinstance(out, list)
        if (t := engine.get_timer()) is not None and t <= now:
            engine.handle_timer(now)
        assert engine.machine("VI_1").state is State.MASTER
    for status in engine.status(now):
        assert sum(status.counters.drops.values()) <= status.counters.adverts_received


@FUZZ
@given(st.binary(max_size=120), st.integers(0, 255))
def test_fuzz_ipv6_receive_path_never_raises(payload, ttl):
    engine = owner_engine()
    src = ipaddress.IPv6Address("fe80::2")
    engine.receive_packet("eth0", src, MCAST_V6, ttl, payload, 1.0)


@pytest.mark.parametrize("ttl", [0, 1, 63, 64, 128, 254])
def test_no_ttl_but_255_is_ever_accepted(ttl):
    engine = Engine(config(), PRIMARY)
    engine.start(0.0)
    ad = advert_for(engine.machine("VI_1"), 150)
    for dst in (MCAST_V4, ME):
        out = engine.receive_packet("eth0", PEER, dst, ttl, wire(ad, PEER, dst), 1.0)
        assert [o.reason for o in out if isinstance(o, Dropped)] == [DropReason.TTL]


def test_ipv6_hop_limit_is_checked_whatever_the_destination():
    inst = v3_instance(family=6, virtual_ipaddresses=(vip("fe80::1/64"), vip("2001:db8::1/64")))
    me, peer = ipaddress.IPv6Address("fe80::11"), ipaddress.IPv6Address("fe80::12")
    engine = Engine(Config(path="v6.conf", instances=(inst,)), {"VI_1": me})
    engine.start(0.0)
    ad = advert_for(engine.machine("VI_1"), 150)
    for dst, hop_limit in ((me, 63), (MCAST_V6, 64), (me, 255)):
        engine.receive_packet("eth0", peer, dst, hop_limit, encode(ad, peer, dst), 1.0)
    counters = engine.machine("VI_1").counters
    assert (counters.drops["ttl"], counters.adverts_received) == (2, 3)


# --- fuzz: what a track file holds and what a control client sends -------------------------------------------

TRACKED_CONF = """\
track_file tf {
  file /run/vrrptui-fuzz-track
  weight 10
}
vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 51
  priority 100
  advert_int 0.1
  virtual_ipaddress { 192.168.1.100 }
  track_file {
    tf weight -3
  }
}
vrrp_instance VI_2 {
  interface eth0
  virtual_router_id 52
  priority 200
  advert_int 0.1
  virtual_ipaddress { 192.168.1.101 }
  track_file {
    tf
  }
}
"""
json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
                           lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner,
                                                                                         max_size=3), max_leaves=6)
operator_inputs = st.one_of(
    st.tuples(st.just("file"), st.one_of(st.integers(), st.sampled_from([0, 1, -1, 2**31, -2**63, 10**4000]))),
    st.tuples(st.just("set_priority"), json_values),
    st.tuples(st.sampled_from(["demote", "failover", "resume", "timer"]), st.none()),
)


@pytest.fixture(scope="module")
def tracked_config(tmp_path_factory):
    from vrrptui.config.parser import parse_config

    path = tmp_path_factory.mktemp("tracked") / "keepalived.conf"
    path.write_text(TRACKED_CONF)
    return parse_config(str(path), existing_interfaces={"eth0"})


@FUZZ
@given(st.lists(st.tuples(st.sampled_from(["VI_1", "VI_2", "VI_9"]), operator_inputs), max_size=25))
def test_fuzz_track_file_values_and_operator_commands_never_raise_and_priorities_stay_on_the_wire(
        tracked_config, steps):
    """A track file is written by whoever may write it (any number, `read_value` reads up to 4 KiB of digits) and
    a control client sends any JSON value: only CommandError comes back, and every priority fits an advert."""
    from vrrptui.engine.commands import CommandError, Demote, Failover, Resume, SetPriority

    engine = Engine(tracked_config, {"VI_1": ME, "VI_2": ME})
    engine.start(0.0)
    now = 0.0
    commands = {"demote": Demote, "failover": Failover, "resume": Resume}
    for name, (what, value) in steps:
        now += 0.05
        try:
            if what == "file":
                engine.file_value("tf", value, now)
            elif what == "timer":
                engine.handle_timer(max(now, engine.get_timer() or now))
            elif what == "set_priority":
                engine.command(SetPriority(name, value), now)
            else:
                engine.command(commands[what](name), now)
        except CommandError:
            pass
        for m in engine.machines:
            assert 0 <= m.effective_priority <= 255
            engine.advert_bytes(m.name, m.effective_priority, ME, MCAST_V4)
