"""Sans-I/O observe models driven by a fake clock (no sockets, no textual)."""

from __future__ import annotations

import ipaddress
import json

from vrrptui.config.model import Authentication, Config, VirtualAddress, VrrpInstance
from vrrptui.daemon.drillfile import append_drill, read_drills
from vrrptui.observe import DrillTracker, PeerTable, Timeline, VipPresence
from vrrptui.records import Heard, RouterKey
from vrrptui.observe.peers import Mismatch
from vrrptui.protocol.packet import Advert, ChecksumForm, Drop, DropReason

KEY = RouterKey("eth0", 150, 4)
A, B = "192.168.1.11", "192.168.1.12"


def advert(prio: int = 100, interval: float = 1.0, version: int = 2, vips=("192.168.1.13",), pw: str | None = "1212",
           form: ChecksumForm = ChecksumForm.MESSAGE) -> Advert:
    a = Advert.from_fields(version, 150, prio, interval, vips, auth_pass=pw if version == 2 else None)
    return Advert(a.version, a.vrid, a.priority, a.max_advert_int, a.addresses, a.auth_type, a.auth_data,
                  checksum_form=form)


def heard(src: str, at: float, result, mac: str | None = None, ttl: int = 255, dst: str = "224.0.0.18") -> Heard:
    payload = bytes([0x21, 150]) if isinstance(result, Drop) else b""
    return Heard("eth0", at, ipaddress.ip_address(src), ipaddress.ip_address(dst), ttl, result, payload, mac)


def config(version: int = 2, interval: float = 1.0, pw: str | None = "1212") -> Config:
    inst = VrrpInstance(
        name="VI_1", interface="eth0", vrid=150, version=version, priority=100, advert_int=interval,
        authentication=Authentication("PASS", pw) if pw else None,
        virtual_ipaddresses=(VirtualAddress(ipaddress.ip_interface("192.168.1.13/24")),),
    )
    return Config(path="/etc/keepalived/keepalived.conf", instances=(inst,))


# --- PeerTable ---------------------------------------------------------------------

def test_peer_matching_config_has_no_mismatch_and_counts_rate():
    t = PeerTable(config())
    for i in range(11):
        t.heard(heard(A, float(i), advert(101), mac="02:00:00:00:00:0a"))
    (p,) = t.peers(10.0)
    assert (p.src, p.priority, p.interval, p.auth, p.vips) == (A, 101, 1.0, "pass:1212", ("192.168.1.13",))
    assert p.mismatches == ()
    assert p.adverts == 11 and p.adverts_per_s == 1.0
    assert p.configured and p.master and not p.split_brain
    assert t.mac_owner("02:00:00:00:00:0A") == A


def test_peer_mismatches_interval_vips_auth_version_flagged():
    t = PeerTable(config())
    t.heard(heard(A, 0.0, advert(100, interval=2.0, vips=("192.168.1.14",), pw="wrong")))
    (p,) = t.peers(0.0)
    assert set(p.mismatches) == {Mismatch.INTERVAL, Mismatch.VIPS, Mismatch.AUTH}
    t.heard(heard(B, 0.0, advert(100, version=3, interval=1.0, form=ChecksumForm.PSEUDO)))
    pb = [p for p in t.peers(0.0) if p.src == B][0]
    assert Mismatch.VERSION in pb.mismatches


def test_v3_message_only_checksum_form_is_flagged_against_our_pseudo_header_form():
    t = PeerTable(config(version=3, interval=0.1, pw=None))
    t.heard(heard(A, 0.0, advert(100, version=3, interval=0.1, form=ChecksumForm.MESSAGE)))
    (p,) = t.peers(0.0)
    assert p.mismatches == (Mismatch.CHECKSUM_FORM,)


def test_bad_checksum_and_ttl_are_flagged_and_dropped_counted():
    t = PeerTable(config())
    t.heard(heard(A, 0.0, Drop(DropReason.CHECKSUM), ttl=64))
    (p,) = t.peers(1.0)
    assert p.drops == {"checksum": 1}
    assert Mismatch.CHECKSUM in p.mismatches and Mismatch.TTL in p.mismatches
    assert p.version is None


def test_unconfigured_vrid_is_listed_and_compared_with_its_master():
    t = PeerTable(None)
    t.heard(heard(A, 0.0, advert(150, interval=1.0)))
    t.heard(heard(B, 0.0, advert(100, interval=2.0)))
    rows = {p.src: p for p in t.peers(0.0)}
    assert not rows[A].configured
    assert rows[B].mismatches == (Mismatch.INTERVAL,)


def test_two_sources_advertising_at_master_cadence_is_split_brain():
    t = PeerTable(config())
    for i in range(4):
        t.heard(heard(A, float(i), advert(100)))
        t.heard(heard(B, i + 0.5, advert(100)))
    assert t.split_brain(KEY, 3.5) == (A, B)
    assert all(p.split_brain for p in t.peers(3.5))
    # Once B falls silent for a master-down interval the flag clears.
    for i in range(4, 9):
        t.heard(heard(A, float(i), advert(100)))
    assert t.split_brain(KEY, 8.0) == ()


def test_preemption_handover_is_not_split_brain():
    t = PeerTable(config())
    for i in range(5):
        t.heard(heard(A, float(i), advert(100)))
    t.heard(heard(B, 4.5, advert(110)))  # B preempts
    t.heard(heard(A, 4.6, advert(100)))  # one advert in flight from A, then A yields
    for i in range(5, 9):
        t.heard(heard(B, i + 0.5, advert(110)))
    for now in (4.6, 5.5, 6.5, 8.5):
        assert t.split_brain(KEY, now) == ()
    assert t.masters(KEY, 8.5) == [B]


def test_priority_zero_adverts_never_count_as_master():
    t = PeerTable(config())
    for i in range(3):
        t.heard(heard(A, float(i), advert(100)))
        t.heard(heard(B, i + 0.5, advert(0)))
    assert t.split_brain(KEY, 2.5) == ()
    assert t.masters(KEY, 2.5) == [A]


# --- Timeline ----------------------------------------------------------------------

def test_steady_master_fills_every_slot():
    tl = Timeline(config())
    for i in range(10):
        tl.heard(heard(A, i * 1.0 + 0.003 * i, advert(100)))  # timer drift
    (row,) = tl.rows(KEY, 9.05, 10)
    assert (row.label, row.strip, row.master) == (A, "|" * 10, True)


def test_failover_shows_missed_adverts_and_master_change():
    tl = Timeline(config())
    for i in range(5):
        tl.heard(heard(A, float(i), advert(100)))  # A: 0..4 s, then dies
    for i in range(3):
        tl.heard(heard(B, 7.6 + i, advert(90)))  # B takes over after Master_Down_Interval
    rows = {r.label: r for r in tl.rows(KEY, 9.6, 10)}
    assert rows[A].strip == "||||xxx   "  # slots 1..10 of 1 s; A's adverts at 1..4 s, owed 5, 6, 7
    assert rows[B].strip == "       M||"
    assert rows[B].master and not rows[A].master
    assert tl.missed(KEY, 9.6) == [(5.0, A), (6.0, A), (7.0, A)]


def test_current_master_going_quiet_shows_misses_live():
    tl = Timeline(config())
    for i in range(3):
        tl.heard(heard(A, float(i), advert(100)))
    assert [r.strip for r in tl.rows(KEY, 2.4, 5)] == ["  |||"]
    assert [r.strip for r in tl.rows(KEY, 4.6, 5)] == ["||xx "]  # 3 s and 4 s are owed; 5 s is not due yet


def test_priority_change_and_resign_are_marked_and_resign_owes_nothing():
    tl = Timeline(config())
    tl.heard(heard(A, 0.0, advert(100)))
    tl.heard(heard(A, 1.0, advert(80)))
    tl.heard(heard(A, 2.0, advert(0)))
    (row,) = tl.rows(KEY, 5.0, 6)
    assert row.strip == "|P0   "
    assert tl.missed(KEY, 5.0) == []


def test_operator_marks_get_their_own_row():
    tl = Timeline(config())
    tl.heard(heard(A, 0.0, advert(100)))
    tl.mark(KEY, 1.0, "D")
    rows = tl.rows(KEY, 2.0, 3)
    assert rows[-1].label == "operator" and rows[-1].strip == " D "


def test_timeline_keeps_one_minute_in_interval_slots():
    tl = Timeline(config(version=3, interval=0.1, pw=None))
    for i in range(1000):
        tl.heard(heard(A, i * 0.1, advert(100, version=3, interval=0.1, pw=None)))
    (row,) = tl.rows(KEY, 99.9, 10_000)
    assert len(row.strip) == 600


def test_labels_name_the_rows_drawn_including_a_former_master_owing_adverts_in_the_window():
    tl = Timeline(config())
    for i in range(5):
        tl.heard(heard(A, float(i), advert(100)))  # A: 0..4 s, owes 5, 6, 7
    for i in range(3):
        tl.heard(heard(B, 7.6 + i, advert(90)))
    tl.mark(KEY, 8.2, "F")
    for width in (10, 4, 2):
        drawn = [(r.label, r.master) for r in tl.rows(KEY, 9.6, width)]
        assert tl.labels(KEY, 9.6, width) == drawn
    assert [r.strip for r in tl.rows(KEY, 9.6, 4)] == ["x   ", " M||", " F  "]  # A only by its x mark
    assert tl.labels(KEY, 9.6, 2) == [(B, True), ("operator", False)]


def test_timeline_forgets_a_source_silent_for_the_whole_span():
    tl = Timeline(config(), span=10.0)
    tl.heard(heard(B, 0.0, advert(90)))
    for i in range(30):
        tl.heard(heard(A, float(i), advert(100)))
    assert tl.labels(KEY, 29.5, 10) == [(A, True)]
    assert B not in tl._routers[KEY].adverts


def test_timeline_history_per_source_is_a_bounded_ring():
    tl = Timeline(config(version=3, interval=0.1, pw=None))
    for i in range(5000):  # a source flooding 10 adverts per 0.1 s slot
        tl.heard(heard(A, i * 0.01, advert(100, version=3, interval=0.1, pw=None)))
    assert len(tl._routers[KEY].adverts[A]) == 2 * (600 + 10)


def test_at_most_max_sources_per_router_the_master_kept_the_quietest_forgotten():
    from vrrptui.observe.addresses import MAX_SOURCES

    tl, peers = Timeline(config()), PeerTable(config())
    for i in range(MAX_SOURCES + 4):
        h = heard(f"192.168.2.{i + 1}", 0.01 * i, advert(200 if i == 0 else 100))
        tl.heard(h)
        peers.heard(h)
    kept = {p.src for p in peers.peers(1.0)}
    assert len(kept) == MAX_SOURCES and "192.168.2.1" in kept and "192.168.2.2" not in kept
    assert len(tl._routers[KEY].adverts) == MAX_SOURCES and "192.168.2.1" in tl._routers[KEY].adverts


def test_session_entries_after_a_seq_are_the_newer_ones_filtered_oldest_first():
    from vrrptui.observe.session import Session

    s = Session(config(), max_log=50)
    for i in range(80):
        s.heard(heard(A if i % 2 else B, float(i), advert()))
    assert [seq for seq, _ in s.entries(after=75)] == [76, 77, 78, 79, 80]
    assert [seq for seq, _ in s.entries(src=A, after=74)] == [76, 78, 80]
    assert [seq for seq, _ in s.entries()] == list(range(31, 81))  # the ring keeps the newest 50
    assert [r.at for _, r in s.entries(after=78)] == [78.0, 79.0]



def test_session_log_keeps_adverts_as_plain_tuples_the_garbage_collector_stops_tracking():
    import gc

    from vrrptui.observe.session import Session, log_text, pack_heard, unpack_heard

    v6 = Advert.from_fields(3, 45, 100, 0.1, ("fd00::45", "fd00::46"))
    kinds = [heard(A, 1.0, advert()), heard(B, 2.0, advert(90), mac="02:00:00:00:00:0b", ttl=64),
             heard("fe80::12%eth0", 3.0, v6, dst="ff02::12"),
             Heard("eth0", 4.0, ipaddress.ip_address(A), ipaddress.ip_address("224.0.0.18"), 255, advert(), b"x",
                   outgoing=True)]
    for h in kinds:
        assert unpack_heard(pack_heard(h)) == h
        assert log_text(pack_heard(h), 1_700_000_000.0) == log_text(h, 1_700_000_000.0)
    s = Session(config())
    for i in range(500):
        s.heard(heard(A if i % 2 else B, float(i), advert(100 + i % 3)))
    s.heard(heard(A, 600.0, Drop(DropReason.CHECKSUM, "bad")))
    gc.collect()
    assert [isinstance(r, Heard) for r in s.log].count(True) == 1  # only the drop is kept as received
    assert sum(gc.is_tracked(r) for r in s.log) == 1
    assert s.entries(after=499)[0][1] == heard(A, 499.0, advert(101))



def test_per_advert_records_stay_out_of_the_garbage_collectors_walk():
    """255 VRIDs, 40 adverts each: the log ring, the peers' last adverts (one object per repeated
    advert), the timeline and the pcap ring hold about 70 tracked objects per VRID, not ~230."""
    import gc
    import types

    from vrrptui.observe.session import Session

    s = Session(None)
    dst = ipaddress.ip_address("224.0.0.18")
    for r in range(40):
        for vrid in range(1, 256):
            a = Advert(3, vrid, 200, 0.1, (ipaddress.ip_address(f"10.10.{vrid}.1"),))
            s.heard(Heard("eth0", r * 0.1, ipaddress.ip_address("10.0.0.1"), dst, 255, a, b"\x31" + bytes([vrid])))
    gc.collect()
    seen: set[int] = set()
    todo: list[object] = [s]
    while todo:
        o = todo.pop()
        if id(o) not in seen and gc.is_tracked(o) and not isinstance(o, type | types.ModuleType | types.FunctionType):
            seen.add(id(o))
            todo.extend(gc.get_referents(o))
    assert len(seen) < 100 * 255
    detail = s.peers.detail(next(p for p in s.peers.peers(4.0) if p.key.vrid == 7).row_key, 4.0)
    assert detail is not None and len(detail.last_adverts) == 8
    assert len({id(a) for _, a in detail.last_adverts}) == 1


# --- Drills ------------------------------------------------------------------------

def test_failover_drill_times_takeover_and_vip_from_the_new_owner(tmp_path):
    d = DrillTracker()
    for i in range(3):
        d.heard(heard(A, float(i), advert(100), mac="02:00:00:00:00:0a"))
    d.start("failover", "VI_1", KEY, acted_at=2.5, interval=1.0, master_down_interval=3.609,
            old_master=A, vips=("192.168.1.13",), wall=0)
    d.heard(heard(A, 2.0, advert(100), mac="02:00:00:00:00:0a"))
    d.claim("192.168.1.13", "02:00:00:00:00:0a", 3.0)  # old owner still answering
    d.heard(heard(B, 5.61, advert(90), mac="02:00:00:00:00:0b"))
    d.claim("192.168.1.13", "02:00:00:00:00:0b", 5.62)
    (done,) = d.tick(5.7)
    assert (done.result, done.new_master, done.adverts_missed) == ("ok", B, 3)
    assert done.takeover_ms == 3110.0 and done.vip_ms == 3120.0
    assert done.vip_answered_by == "02:00:00:00:00:0b"
    path = tmp_path / "state" / "drills.jsonl"
    append_drill(path, done)
    append_drill(path, done)
    assert read_drills(path) == [done, done]
    assert json.loads(path.read_text().splitlines()[0])["takeover_ms"] == 3110.0


def test_demote_drill_on_our_master_sees_peer_take_over():
    d = DrillTracker()
    d.start("demote", "VI_1", KEY, acted_at=10.0, interval=0.1, master_down_interval=0.361, old_master=A,
            vips=("192.168.1.13",), own_addresses=(A,), own_macs=("02:00:00:00:00:0a",))
    d.claim("192.168.1.13", "02:00:00:00:00:0A", 10.01)  # our own last GARP: not the new owner
    d.heard(heard(B, 10.061, advert(90, version=3, interval=0.1, pw=None), mac="02:00:00:00:00:0b"))
    d.claim("192.168.1.13", "02:00:00:00:00:0b", 10.07)
    (done,) = d.tick(10.1)
    assert (done.adverts_missed, done.takeover_ms, done.vip_ms) == (0, 61.0, 70.0)


def test_failover_drill_on_a_backup_we_become_master():
    d = DrillTracker()
    d.start("failover", "VI_1", KEY, acted_at=1.0, interval=1.0, master_down_interval=3.6, old_master=B,
            vips=("192.168.1.13",), own_addresses=(A,), own_macs=("02:00:00:00:00:0a",))
    d.became_master("VI_1", 1.001)
    d.local_vip("192.168.1.13", 1.002)
    (done,) = d.tick(1.1)
    assert (done.new_master, done.vip_answered_by, done.takeover_ms, done.vip_ms) == (A, "local", 1.0, 2.0)


def test_drill_without_a_takeover_ends_incomplete_after_its_timeout():
    d = DrillTracker()
    d.start("demote", "VI_1", KEY, acted_at=0.0, interval=1.0, master_down_interval=3.6, old_master=A, vips=())
    assert d.tick(35.0) == []
    (done,) = d.tick(36.0)
    assert done.result == "incomplete" and done.new_master is None


# --- VipPresence -------------------------------------------------------------------

def test_vip_answer_mapped_to_peer_and_local_presence():
    v = VipPresence(own_macs=("02:00:00:00:00:0a",))
    v.set_vips([("192.168.1.13", "eth0")])
    assert v.local("192.168.1.13", False, 0.0) is True
    assert v.local("192.168.1.13", False, 0.5) is False
    v.probe_sent("192.168.1.13", 1.0)
    v.claim("192.168.1.13", "02:00:00:00:00:0B", 1.002)
    (row,) = v.view(1.5, {"02:00:00:00:00:0b": B}.get)
    assert (row.local, row.split_brain) == (False, False)
    assert [(a.mac, a.owner, a.kind) for a in row.answers] == [("02:00:00:00:00:0b", B, "reply")]


def test_two_macs_answering_one_probe_is_split_brain():
    v = VipPresence()
    v.set_vips([("192.168.1.13", "eth0")])
    v.probe_sent("192.168.1.13", 1.0)
    v.claim("192.168.1.13", "02:00:00:00:00:0a", 1.001)
    v.claim("192.168.1.13", "02:00:00:00:00:0b", 1.002)
    assert v.split_brain("192.168.1.13") == ("02:00:00:00:00:0a", "02:00:00:00:00:0b")
    for i in range(2, 5):  # three clean rounds later the flag clears
        v.probe_sent("192.168.1.13", float(i))
        v.claim("192.168.1.13", "02:00:00:00:00:0b", i + 0.001)
    assert v.split_brain("192.168.1.13") == ()


def test_handover_announcement_is_not_split_brain():
    v = VipPresence()
    v.set_vips([("192.168.1.13", "eth0")])
    v.probe_sent("192.168.1.13", 1.0)
    v.claim("192.168.1.13", "02:00:00:00:00:0a", 1.001)
    v.claim("192.168.1.13", "02:00:00:00:00:0b", 1.2, kind="announce")  # new master's GARP
    assert v.split_brain("192.168.1.13") == ()


def test_master_holding_the_vip_sees_split_brain_from_one_foreign_answer():
    # A master never hears its own kernel's ARP reply: one other MAC answering is the second owner.
    v = VipPresence(own_macs=("02:00:00:00:00:0a",))
    v.set_vips([("192.168.1.13", "eth0")])
    v.local("192.168.1.13", True, 0.5)
    v.probe_sent("192.168.1.13", 1.0)
    v.claim("192.168.1.13", "02:00:00:00:00:50", 1.001)
    assert v.split_brain("192.168.1.13") == ("02:00:00:00:00:50",)
    (row,) = v.view(1.5, {"02:00:00:00:00:50": "192.168.1.50"}.get)
    assert (row.split_brain, row.split_brain_why) == (True, "here and another MAC answers")
    # The VIP leaves us (we lost the election): the other router is simply the owner now.
    v.local("192.168.1.13", False, 1.2)
    assert v.split_brain("192.168.1.13") == ()


def test_master_answers_from_its_own_mac_or_vmac_are_not_split_brain():
    v = VipPresence(own_macs=("02:00:00:00:00:0a",))
    v.set_vips([("192.168.1.13", "eth0")])
    v.set_vmac("192.168.1.13", "00:00:5E:00:01:96")
    v.local("192.168.1.13", True, 0.5)
    for i in range(1, 4):  # our macvlan answers from the VMAC, the base interface from its own MAC
        v.probe_sent("192.168.1.13", float(i))
        v.claim("192.168.1.13", "00:00:5e:00:01:96", i + 0.001)
        v.claim("192.168.1.13", "02:00:00:00:00:0a", i + 0.002)
    assert v.split_brain("192.168.1.13") == ()
    (row,) = v.view(3.5)
    assert {a.owner for a in row.answers} == {"this host"}


def test_vmac_answer_is_the_peers_when_the_vip_is_not_here():
    v = VipPresence(own_macs=("02:00:00:00:00:0a",))
    v.set_vips([("192.168.1.13", "eth0")])
    v.set_vmac("192.168.1.13", "00:00:5e:00:01:96")
    v.local("192.168.1.13", False, 0.5)
    v.probe_sent("192.168.1.13", 1.0)
    v.claim("192.168.1.13", "00:00:5e:00:01:96", 1.001)  # the master (a peer) on its VMAC
    assert v.split_brain("192.168.1.13") == ()
    (row,) = v.view(1.5, {"00:00:5e:00:01:96": B}.get)
    assert row.answers[0].owner == B
    # We become master too (the VIP comes up here) while the peer still answers from the same VMAC:
    # indistinguishable from our own answer; the Peers pane's two advertising masters show it.
    v.local("192.168.1.13", True, 1.5)
    v.probe_sent("192.168.1.13", 2.0)
    v.claim("192.168.1.13", "00:00:5e:00:01:96", 2.001)
    assert v.split_brain("192.168.1.13") == ()


def test_foreign_answer_to_a_probe_sent_before_the_vip_came_up_is_not_split_brain():
    v = VipPresence(own_macs=("02:00:00:00:00:0a",))
    v.set_vips([("192.168.1.13", "eth0")])
    v.local("192.168.1.13", False, 0.0)
    v.probe_sent("192.168.1.13", 1.0)
    v.claim("192.168.1.13", "02:00:00:00:00:0b", 1.001)  # the old master, before we took over
    v.local("192.168.1.13", True, 1.3)
    assert v.split_brain("192.168.1.13") == ()
    v.probe_sent("192.168.1.13", 2.0)  # the old master yielded: nobody else answers
    assert v.split_brain("192.168.1.13") == ()


def test_session_knows_our_vmac_for_a_use_vmac_instance():
    from dataclasses import replace

    from vrrptui.observe.session import Session

    cfg = config()
    cfg = replace(cfg, instances=(replace(cfg.instances[0], use_vmac=True),))
    s = Session(cfg)
    s.vips.local("192.168.1.13", True, 0.5)
    s.vips.probe_sent("192.168.1.13", 1.0)
    s.vips.claim("192.168.1.13", "00:00:5e:00:01:96", 1.001)  # VRID 150 = 0x96
    assert s.vips.split_brain("192.168.1.13") == ()
    s.vips.claim("192.168.1.13", "02:00:00:00:00:0b", 1.002)
    assert s.vips.split_brain("192.168.1.13") == ("02:00:00:00:00:0b",)


def test_preempted_master_loses_the_master_flag_at_once():
    t = PeerTable(config())
    for i in range(5):
        t.heard(heard(A, float(i), advert(100)))
    assert t.masters(KEY, 4.0) == [A]
    t.heard(heard(B, 4.5, advert(110)))  # B preempts: A is backup from now, not after its master-down interval
    assert t.masters(KEY, 4.5) == [B]
    t.heard(heard(A, 4.6, advert(100)))  # A's advert in flight before it yields
    assert t.masters(KEY, 4.6) == [B]
    rows = {p.src: p for p in t.peers(4.7)}
    assert (rows[A].master, rows[B].master) == (False, True)


def test_equal_priority_higher_address_wins_the_master_flag():
    t = PeerTable(config())
    t.heard(heard(A, 0.0, advert(100)))
    t.heard(heard(B, 0.3, advert(100)))  # 192.168.1.12 > .11 (RFC 5798 6.4.3)
    t.heard(heard(A, 1.0, advert(100)))
    assert t.masters(KEY, 1.0) == [B]


def test_handover_by_priority_zero_clears_the_flag_and_the_backup_is_master_at_its_first_advert():
    t = PeerTable(config())
    for i in range(3):
        t.heard(heard(A, float(i), advert(110)))
    t.heard(heard(A, 2.5, advert(0)))  # demote: A resigns
    assert t.masters(KEY, 2.5) == []
    t.heard(heard(B, 2.9, advert(100)))  # after B's skew time
    assert t.masters(KEY, 2.9) == [B]
    assert [p.master for p in t.peers(3.0)] == [False, True]


def test_silent_higher_priority_master_is_replaced_by_the_backup_that_took_over():
    # Forced failover: A (110) goes silent; B (100) takes over after its Master_Down_Interval
    # (3.609 s, longer than A's own 3.570 s but the flag must not wait on that race).
    t = PeerTable(config())
    for i in range(3):
        t.heard(heard(A, float(i), advert(110)))
    assert t.masters(KEY, 5.0) == [A]  # 3 s silent: still within A's master-down interval
    t.heard(heard(B, 5.5, advert(100)))
    assert t.masters(KEY, 5.5) == [B]
    # A comes back and preempts: it is master again at its first advert.
    t.heard(heard(A, 9.0, advert(110)))
    assert t.masters(KEY, 9.0) == [A]


def test_master_flag_ends_after_the_master_down_interval_without_a_successor():
    t = PeerTable(config())
    t.heard(heard(A, 0.0, advert(100)))
    assert t.masters(KEY, 3.6) == [A]  # 3 * 1 s + skew 0.609 s
    assert t.masters(KEY, 3.7) == []


def test_split_brain_sources_are_both_shown_as_masters():
    t = PeerTable(config())
    for i in range(4):
        t.heard(heard(A, float(i), advert(110)))
        t.heard(heard(B, i + 0.5, advert(100)))
    assert t.split_brain(KEY, 3.5) == (A, B)
    assert t.masters(KEY, 3.5) == [A, B]


def test_append_drill_creates_the_state_directory(tmp_path):
    d = DrillTracker()
    d.start("demote", "VI_1", KEY, acted_at=0.0, interval=1.0, master_down_interval=3.6, old_master=A, vips=())
    (done,) = d.tick(36.0)
    path = tmp_path / "var" / "lib" / "vrrptui" / "drills.jsonl"
    append_drill(path, done)
    assert read_drills(path) == [done]


def test_probe_targets_are_the_vips_then_every_other_router_heard():
    """What the console's prober resolves, once a second: configured VIPs (in sniff mode every VIP
    heard in adverts), then each router heard except this host's own source."""
    import dataclasses

    from vrrptui.observe.session import Session

    own = dataclasses.replace(heard("192.168.1.10", 0.0, advert(prio=50)), outgoing=True)
    feed = [heard(A, 0.0, advert(prio=100)), heard(B, 0.1, advert(prio=200, vips=("192.168.1.14",))), own]
    configured = Session(config())
    sniffing = Session(None)
    for h in feed:
        configured.heard(h)
        sniffing.heard(h)
    routers = [(A, "eth0"), (B, "eth0")]
    assert configured.probe_targets() == [("192.168.1.13", "eth0"), *routers]
    assert sorted(sniffing.probe_targets()) == sorted([("192.168.1.13", "eth0"), ("192.168.1.14", "eth0"), *routers])
