"""Safe keys: q on a master, d and f say what will happen and act only on y or Enter; --yes skips."""

from __future__ import annotations

import asyncio

import harness as h
from vrrptui.engine.commands import Demote


def master_items():
    items = h.steady_backup()
    items.append(h.snapshot(h.status(state="MASTER", master_address=h.ME), h.v6_status()))
    return items


def run(tmp_path, keys, items, **kw):
    async def main():
        app = h.make_app(tmp_path, **kw)
        async with app.run_test(size=(150, 45)) as pilot:
            app.observe(items)
            app.refresh_panes()
            await pilot.pause()
            await pilot.press(*keys)
            await pilot.pause()
            asked = getattr(app.screen, "consequences", None)
            return asked, list(app.backend.commands), app.backend.stopped, app.return_code

    return asyncio.run(main())


def test_quitting_a_master_says_who_gets_the_vips_and_escape_cancels(tmp_path):
    asked, commands, stopped, _ = run(tmp_path, ["q"], master_items())
    assert asked == [f"this router is MASTER for VI_1: quitting hands {h.VIP} to {h.PEER}",
                     "this router is MASTER for VI_6: quitting hands fd00::45 to no other router heard "
                     "(the VIPs go away)"]
    assert stopped == 0
    asked, commands, stopped, _ = run(tmp_path, ["q", "escape"], master_items())
    assert asked is None and stopped == 0


def test_q_then_y_or_enter_or_a_second_ctrl_c_quits(tmp_path):
    for keys in (["q", "y"], ["q", "enter"], ["ctrl+c", "ctrl+c"]):
        asked, _, stopped, code = run(tmp_path, keys, master_items())
        assert stopped == 1 and code == 0, keys


def test_quitting_with_no_instance_master_does_not_ask(tmp_path):
    backup_only = [h.snapshot(h.status())]
    asked, _, stopped, _ = run(tmp_path, ["q"], backup_only)
    assert asked is None and stopped == 1


def test_demote_on_a_master_asks_and_y_starts_the_drill(tmp_path):
    asked, commands, _, _ = run(tmp_path, ["d"], master_items())
    assert asked == [f"VI_1 is MASTER: demote sends priority 0 and {h.PEER} takes {h.VIP} at once",
                     "VI_1 is then held as backup (priority 0) until r"]
    assert commands == []
    asked, commands, _, _ = run(tmp_path, ["d", "y"], master_items())
    assert asked is None and commands == [Demote("VI_1")]


def test_failover_says_how_long_clients_wait_or_what_a_backup_takes(tmp_path):
    asked, commands, _, _ = run(tmp_path, ["f"], master_items())
    assert asked == ["VI_1 is MASTER: failover goes silent as if this router died (no priority 0)",
                     f"after Master_Down_Interval (3.61 s) {h.PEER} takes {h.VIP}; clients lose the VIP meanwhile"]
    asked, commands, _, _ = run(tmp_path, ["f", "escape"], h.steady_backup())
    assert asked is None and commands == []
    asked, commands, _, _ = run(tmp_path, ["f"], h.steady_backup())
    assert asked == [f"VI_1 is BACKUP: failover takes {h.VIP} over from {h.PEER} now"]


def test_yes_skips_every_question(tmp_path):
    asked, commands, _, _ = run(tmp_path, ["d"], master_items(), assume_yes=True)
    assert asked is None and commands == [Demote("VI_1")]
    asked, _, stopped, code = run(tmp_path, ["q"], master_items(), assume_yes=True)
    assert asked is None and stopped == 1 and code == 0
