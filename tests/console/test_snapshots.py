"""Snapshot tests of each pane, fed synthetic observations with a frozen clock (no network)."""

from __future__ import annotations

import harness as h
from vrrptui.engine.commands import Demote
from vrrptui.engine.outputs import Reason, State, StateChanged
from vrrptui.records import OtherDaemon
from vrrptui.records import Claim, LocalPresence, ProbeSent

SIZE = (150, 45)


def fed(app, items):
    async def run_before(pilot):
        app.observe(items)
        app.refresh_panes()
        await pilot.pause()

    return run_before


def then(first, second):
    async def run_before(pilot):
        await first(pilot)
        await second(pilot)

    return run_before


def tab(name):
    async def run_before(pilot):
        pilot.app.query_one("#tabs").active = name
        pilot.app.refresh_panes()
        await pilot.pause()

    return run_before


def test_steady_state_instances_timeline_vips_log(snap_compare, tmp_path):
    app = h.make_app(tmp_path)
    assert snap_compare(app, terminal_size=SIZE, run_before=fed(app, h.steady_backup()))


def test_counters_on_demand(snap_compare, tmp_path):
    app = h.make_app(tmp_path)
    assert snap_compare(app, terminal_size=SIZE, press=["c"], run_before=fed(app, h.steady_backup()))


def test_peers_flag_mismatch_bad_checksum_and_split_brain(snap_compare, tmp_path):
    app = h.make_app(tmp_path)
    items = h.steady_backup()
    for i in range(6, 0, -1):  # a rogue master with the wrong password and interval, advertising concurrently
        items.append(h.advert(src=h.ROGUE, at=h.NOW - i * 0.5, prio=120, pw="secret", interval=2.0, dst="224.0.0.18"))
    items.append(h.bad_checksum(src="192.168.1.60", at=h.NOW - 1))
    items.append(h.advert(src="192.168.1.70", at=h.NOW - 3, vrid=77, prio=50, pw="x", vips=("192.168.1.77",),
                          dst="224.0.0.18"))
    assert snap_compare(app, terminal_size=SIZE, run_before=then(fed(app, items), tab("tab-peers")))


def test_timeline_failover_shows_missed_adverts_and_new_master(snap_compare, tmp_path):
    app = h.make_app(tmp_path)
    items = [h.snapshot(h.status(), at=h.NOW - 30)]
    for i in range(30, 10, -1):  # the master 192.168.1.12 until 20 s ago, then silence
        items.append(h.advert(at=h.NOW - i + 0.25))
    items.append(StateChanged("VI_1", State.BACKUP, State.MASTER, Reason.TIMEOUT, h.NOW - 7.4))
    for i in range(7, 0, -1):  # we took over after the master-down interval
        items.append(h.advert(src=h.ME, dst="224.0.0.18", prio=100, at=h.NOW - i + 0.6))
    items.append(h.snapshot(h.status(state="MASTER", state_since=h.NOW - 7.4, last_transition="BACKUP -> MASTER",
                                     last_reason=Reason.TIMEOUT.value)))
    assert snap_compare(app, terminal_size=SIZE, run_before=fed(app, items))


def test_vip_split_brain_is_loud(snap_compare, tmp_path):
    app = h.make_app(tmp_path)
    items = h.steady_backup() + [
        ProbeSent(h.VIP, h.NOW - 0.2),
        Claim(h.VIP, h.MAC_PEER, h.NOW - 0.199, "reply"),
        Claim(h.VIP, h.MAC_ROGUE, h.NOW - 0.198, "reply"),
    ]
    assert snap_compare(app, terminal_size=SIZE, run_before=then(fed(app, items), tab("tab-vips")))


def test_drill_result_in_drills_pane_and_timeline(snap_compare, tmp_path):
    clock = h.Clock(h.NOW - 10)
    app = h.make_app(tmp_path, clock=clock)

    async def run_before(pilot):
        items = [h.snapshot(h.status(state="MASTER", master_address=h.ME), at=h.NOW - 20)]
        items += [h.advert(src=h.ME, dst="224.0.0.18", prio=100, at=h.NOW - i + 0.5) for i in range(20, 10, -1)]
        app.observe(items)
        await pilot.pause()
        await pilot.press("d", "y")  # acted at NOW - 10
        app.observe([h.advert(src=h.ME, dst="224.0.0.18", prio=0, at=h.NOW - 9.999)]
                    + [h.advert(src=h.PEER, dst="224.0.0.18", prio=101, at=h.NOW - 9.4 + i) for i in range(10)]
                    + [Claim(h.VIP, h.MAC_PEER, h.NOW - 9.38, "announce"),
                       h.snapshot(h.status(held="demoted", last_transition="MASTER -> BACKUP",
                                           last_reason=Reason.OPERATOR.value, state_since=h.NOW - 10))])
        clock.t = h.NOW
        app.refresh_panes()
        await pilot.pause()

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)
    assert app.backend.commands == [Demote("VI_1")]
    (drill,) = app.session.drills
    assert (drill.result, drill.takeover_ms, drill.vip_ms, drill.adverts_missed) == ("ok", 600.0, 620.0, 0)


def test_header_warns_about_another_vrrp_daemon(snap_compare, tmp_path):
    host = h.FrozenHost((OtherDaemon(4242, "keepalived", "/usr/sbin/keepalived -n", True),))
    app = h.make_app(tmp_path, host=host)
    assert snap_compare(app, terminal_size=SIZE, run_before=fed(app, h.steady_backup()))


def test_priority_dialog_rejects_out_of_range(snap_compare, tmp_path):
    app = h.make_app(tmp_path)
    assert snap_compare(app, terminal_size=SIZE, press=["p", "backspace", "backspace", "backspace", "3", "0", "0"],
                        run_before=fed(app, h.steady_backup()))


def test_help_screen_lists_keys_with_binding_ids(snap_compare, tmp_path):
    app = h.make_app(tmp_path)
    assert snap_compare(app, terminal_size=SIZE, press=["question_mark"], run_before=fed(app, h.steady_backup()))


def test_log_filtered_by_vrid(snap_compare, tmp_path):
    app = h.make_app(tmp_path)
    assert snap_compare(app, terminal_size=SIZE, press=["slash", *"150", "enter"],
                        run_before=fed(app, h.steady_backup()))


def test_sniff_view_has_no_engine_panes(snap_compare, tmp_path):
    app = h.make_app(tmp_path, engine=False)
    items = [h.heard(h.advert(at=h.NOW - i + 0.25, dst="224.0.0.18"), h.MAC_PEER) for i in range(15, 0, -1)]
    assert snap_compare(app, terminal_size=SIZE, run_before=fed(app, items))


def test_vip_split_brain_seen_from_the_master(snap_compare, tmp_path):
    app = h.make_app(tmp_path)
    items = h.steady_backup() + [
        # We took over 0.45 s ago (the old master's answer before that is history), and a rogue answers.
        h.snapshot(h.status(state="MASTER", state_since=h.NOW - 0.45), h.v6_status()),
        LocalPresence(h.VIP, True, h.NOW - 0.45),
        ProbeSent(h.VIP, h.NOW - 0.2),
        Claim(h.VIP, h.MAC_ROGUE, h.NOW - 0.199, "reply"),  # our own kernel's answer is never heard
    ]
    assert snap_compare(app, terminal_size=SIZE, run_before=then(fed(app, items), tab("tab-vips")))


def test_steady_state_at_80x24_keeps_q_and_wraps_log_lines(snap_compare, tmp_path):
    app = h.make_app(tmp_path)
    assert snap_compare(app, terminal_size=(80, 24), run_before=fed(app, h.steady_backup()))


def test_steady_state_at_200x60(snap_compare, tmp_path):
    app = h.make_app(tmp_path)
    assert snap_compare(app, terminal_size=(200, 60), run_before=fed(app, h.steady_backup()))


def test_paused_log_says_so_at_80x24(snap_compare, tmp_path):
    app = h.make_app(tmp_path)
    assert snap_compare(app, terminal_size=(80, 24), press=["3", "pageup"], run_before=fed(app, h.steady_backup()))


def test_peers_zoomed_at_80x24(snap_compare, tmp_path):
    app = h.make_app(tmp_path)
    assert snap_compare(app, terminal_size=(80, 24), press=["4", "z"], run_before=fed(app, h.steady_backup()))


def test_quit_on_a_master_asks_first_at_80x24(snap_compare, tmp_path):
    app = h.make_app(tmp_path)
    items = h.steady_backup() + [h.snapshot(h.status(state="MASTER", master_address=h.ME), h.v6_status())]
    assert snap_compare(app, terminal_size=(80, 24), press=["q"], run_before=fed(app, items))


def test_peer_detail_at_200x60(snap_compare, tmp_path):
    app = h.make_app(tmp_path)
    assert snap_compare(app, terminal_size=(200, 60), press=["4", "down", "enter"],
                        run_before=fed(app, h.steady_backup()))
