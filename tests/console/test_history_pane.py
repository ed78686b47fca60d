"""The History pane, the alarm banner and `e` (export), on synthetic observations with a frozen clock."""

from __future__ import annotations

import asyncio
import json

import harness as h
from vrrptui.console.history_pane import BANNER_LINES, HistoryFiles, banner
from vrrptui.console.statefiles import StateDir
from vrrptui.engine.outputs import Reason, State, StateChanged
from vrrptui.observe.health import Code

SIZE = (150, 45)


def frozen_master() -> list:
    """VI_1 demoted (held) while 192.168.1.12 was master; its last advert 24 s ago, it still answers ARP."""
    items = [h.snapshot(h.status(state="MASTER"), at=h.NOW - 31)]
    items.append(StateChanged("VI_1", State.MASTER, State.BACKUP, Reason.OPERATOR, h.NOW - 30.05, "demoted"))
    items += [h.advert(at=h.NOW - i) for i in range(30, 23, -1)]
    items.append(h.Claim(h.VIP, h.MAC_PEER, h.NOW - 0.4, "reply"))
    items.append(h.snapshot(h.status(held="demoted", master_down_at=None)))
    return items


def with_files(app, tmp_path):
    app.files = HistoryFiles(StateDir(tmp_path, "vrrptui", "keepalived"), app.session)
    return app


def fed_history(app):
    async def run_before(pilot):
        app.observe(frozen_master())
        app.refresh_panes()
        pilot.app.query_one("#tabs").active = "tab-history"
        app.refresh_panes()
        await pilot.pause()

    return run_before


def test_no_master_banner_health_and_history_pane(snap_compare, tmp_path):
    app = h.make_app(tmp_path)
    assert snap_compare(app, terminal_size=SIZE, run_before=fed_history(app))


def test_alarm_is_appended_to_the_events_file_and_e_exports_csv_and_jsonl(tmp_path):
    async def run():
        app = with_files(h.make_app(tmp_path), tmp_path)
        async with app.run_test(size=SIZE) as pilot:
            app.observe(frozen_master())
            app.refresh_panes()
            await pilot.press("e")
            await pilot.pause()

    asyncio.run(run())
    d = tmp_path / "vrrptui" / "keepalived"
    stored = [json.loads(line) for line in (d / "events.jsonl").read_text().splitlines()]
    alarm = next(e for e in stored if e["kind"] == "alarm")
    assert alarm["scope"] == "VI_1 (eth0 vrid 150 IPv4)" and alarm["code"] == "no master"
    assert alarm["text"] == (f"NO MASTER for 24.0 s: master {h.PEER} frozen (answers ARP for the VIP, sends no "
                             "adverts), this router held (demoted): r resumes")
    assert alarm["time"].startswith("2023-11-14T22:13:20.000")
    (csv_file,) = d.glob("events-*.csv")
    (jsonl_file,) = d.glob("events-*.jsonl")
    assert csv_file.read_text().splitlines()[0] == "time,kind,scope,text"
    assert [json.loads(line)["kind"] for line in jsonl_file.read_text().splitlines()] == [e["kind"] for e in stored]


def test_earlier_events_are_loaded_at_start(tmp_path):
    d = StateDir(tmp_path, "vrrptui", "keepalived")
    d.append("events.jsonl", ['{"epoch": 1.5, "kind": "operator", "scope": "VI_1", "text": "demote", "time": "x"}'])
    app = with_files(h.make_app(tmp_path), tmp_path)
    assert [(e.kind, e.text) for e in app.session.history.events] == [("operator", "demote")]
    assert app.session.history.pending == []


def test_many_alarms_take_three_header_lines_and_the_panes_stay_in_view(tmp_path):
    """255 backups whose master went silent: two alarms and a line that counts the other 253."""

    async def run():
        app = h.make_app(tmp_path)
        async with app.run_test(size=SIZE) as pilot:
            app.observe([h.snapshot(*[h.status(f"VI_{vrid}", vrid=vrid) for vrid in range(1, 256)])])
            app.refresh_panes()
            await pilot.pause()
            lines = [line for line, _ in banner(app.session, app.clock())]
            return lines, app.query_one("#header").region, app.query_one("#instances").region

    lines, header, instances = asyncio.run(run())
    assert len(lines) == BANNER_LINES == 3
    assert lines[0].startswith("VI_1 (eth0 vrid 1 IPv4): NO MASTER for 65.0 s")
    assert lines[2] == "253 more: NO MASTER x253 (Health column, History pane)"
    assert header.height == 1 + BANNER_LINES and instances.y == header.bottom and instances.bottom < SIZE[1]


def test_a_late_master_is_in_the_health_column_not_the_banner(tmp_path):
    """2 s without an advert at 1 s: `master late` in Instances, the header unchanged."""

    async def run():
        app = h.make_app(tmp_path)
        async with app.run_test(size=SIZE) as pilot:
            adverts = [h.advert(at=h.NOW - i) for i in range(10, 1, -1)]  # the last one 2 s ago
            app.observe([h.snapshot(h.status(state_since=h.NOW - 20)), *adverts])
            app.refresh_panes()
            await pilot.pause()
            verdicts = [v.code for v in app.session.alarms.active()]
            health = str(app.query_one("#instances").get_cell("VI_1", "health"))
            return verdicts, banner(app.session, app.clock()), health

    verdicts, lines, health = asyncio.run(run())
    assert verdicts == [Code.MASTER_SILENT] and lines == [] and health == "master late"
