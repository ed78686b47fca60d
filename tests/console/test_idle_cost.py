"""An idle console does little: one full refresh every PANES_EVERY ticks, nothing redrawn that did not
change, and the log caught up between them only when it is busy. Counts, not times."""

from __future__ import annotations

import asyncio
import pytest

import harness as h
from vrrptui.console.app import LOG_BUSY, PANES_EVERY
from vrrptui.console.panes import HeaderBar, InstancesPane
from vrrptui.console.timeline_pane import TimelinePane


def counting(monkeypatch, cls, method: str) -> list[tuple]:
    calls: list[tuple] = []
    original = getattr(cls, method)

    def wrapper(self, *args, **kwargs):
        calls.append(args[:2])
        return original(self, *args, **kwargs)

    monkeypatch.setattr(cls, method, wrapper)
    return calls


def test_nothing_changed_nothing_redrawn(tmp_path, monkeypatch):
    asyncio.run(_nothing_changed(tmp_path, monkeypatch))


async def _nothing_changed(tmp_path, monkeypatch):
    app = h.make_app(tmp_path)
    async with app.run_test(size=(150, 45)) as pilot:
        app.observe(h.steady_backup())
        app.refresh_slow()
        app.refresh_panes()
        await pilot.pause()
        cells = counting(monkeypatch, InstancesPane, "update_cell")
        rows = counting(monkeypatch, InstancesPane, "add_row")
        header = counting(monkeypatch, HeaderBar, "update")
        timeline = counting(monkeypatch, TimelinePane, "refresh")
        for _ in range(3):  # the frozen clock: nothing moves
            app.refresh_slow()
            app.refresh_panes()
            await pilot.pause()
        assert (cells, rows, header, timeline) == ([], [], [], [])
        app.clock.t += 1.0  # a second later: what depends on the time changes, nothing else
        app.refresh_panes()
        assert sorted(cells) == [("VI_1", "down"), ("VI_1", "health"), ("VI_1", "state"), ("VI_6", "state")]
        assert rows == []


def test_full_refresh_every_other_tick_busy_log_in_between(tmp_path, monkeypatch):
    asyncio.run(_ticks(tmp_path, monkeypatch))


async def _ticks(tmp_path, monkeypatch):
    app = h.make_app(tmp_path)
    async with app.run_test(size=(150, 45)) as pilot:
        h.show_steady_backup(app)
        await pilot.pause()
        panes = counting(monkeypatch, type(app), "_pane_steps")
        logs = counting(monkeypatch, type(app), "_log_steps")
        for _ in range(4 * PANES_EVERY):
            app._tick()
        assert (len(panes), len(logs)) == (4, 4)  # the log only with the panes while it is quiet
        app.observe([h.advert(at=h.NOW + i * 0.001) for i in range(LOG_BUSY)])
        app._ticks = 0
        app._tick()  # not a panes tick, but the log is busy
        assert (len(panes), len(logs)) == (4, 5)
        assert app.query_one("#logview").backlog() == 0


def test_dialogs_opened_and_closed_leave_no_footer_keys_behind(tmp_path, monkeypatch):
    asyncio.run(_dialogs(tmp_path, monkeypatch))


async def _dialogs(tmp_path, monkeypatch):
    import gc

    from textual.widgets._footer import FooterKey

    def keys_alive() -> int:
        gc.collect()
        return sum(1 for o in gc.get_objects() if isinstance(o, FooterKey))

    app = h.make_app(tmp_path)
    async with app.run_test(size=(150, 45)) as pilot:
        await pilot.pause()
        shown = len(app.query(FooterKey))
        made = counting(monkeypatch, FooterKey, "__init__")
        for _ in range(5):  # each push and pop changes the screen's bindings: same keys, nothing recomposed
            await pilot.press("question_mark")
            await pilot.pause()
            await pilot.press("escape")
            await pilot.pause()
        assert len(app.query(FooterKey)) == shown
        assert made == []
        app.update_keymap({"priority": "o"})  # keys that change do show
        await pilot.pause()
        assert len(made) == shown
        assert [k.key for k in app.query(FooterKey) if k.action == "priority"] == ["o"]
        assert keys_alive() <= 2 * shown  # Textual alone kept ~20 more per dialog


def test_a_ticking_countdown_renders_its_cells_again_not_the_table(tmp_path, monkeypatch):
    asyncio.run(_cells_rendered(tmp_path, monkeypatch))


async def _cells_rendered(tmp_path, monkeypatch):
    from rich.padding import Padding

    app = h.make_app(tmp_path)
    async with app.run_test(size=(150, 45)) as pilot:
        h.show_steady_backup(app)
        app.clock.t += 1.0  # the health verdict settles (a new width: the column is measured again)
        app.refresh_panes()
        await pilot.pause()
        table = app.query_one("#instances", InstancesPane)
        shown_before = [table.render_line(y).text for y in range(3)]
        rendered = counting(monkeypatch, Padding, "__init__")  # DataTable pads each cell it renders
        app.clock.t += 1.0
        app.refresh_panes()
        await pilot.pause()
        assert len(rendered) == 3  # VI_1 state and down, VI_6 state: not the table's 2 x 11 + 11
        shown = [table.render_line(y).text for y in range(3)]
        assert shown[0] == shown_before[0]  # the header
        for line, before, name in zip(shown[1:], shown_before[1:], ("VI_1", "VI_6"), strict=True):
            assert line != before and name in line
        expected = [table.get_row(key) for key in ("VI_1", "VI_6")]
        assert [str(cell) for cell in expected[0]][9] in shown[1]  # the countdown as it is now
        table.refresh()  # a full repaint shows exactly what the partial one did
        await pilot.pause()
        assert [table.render_line(y).text for y in range(3)] == shown


@pytest.mark.parametrize("scan_due", [True, False])
def test_the_host_is_scanned_off_the_ui_thread(tmp_path, scan_due):
    """psutil's scan of every process (10-20 ms) must not hold a key press up; the samples in between
    (this process only, ~0.2 ms) stay on the UI thread, with no thread started each second."""
    import threading

    threads = []

    class Host(h.FrozenHost):
        def sample(self):
            threads.append(threading.current_thread())
            return super().sample()

    async def run():
        host = Host()
        host.scan_due = scan_due
        app = h.make_app(tmp_path, host=host)
        async with app.run_test(size=(150, 45)) as pilot:
            threads.clear()
            app.host_stats = None
            app.timers = True  # as when run for real (the timers themselves are not started here)
            app.refresh_slow()
            await app.workers.wait_for_complete()
            await pilot.pause()
            return app.host_stats

    stats = asyncio.run(run())
    assert stats is not None and stats.hostname == "router1"
    assert len(threads) == 1 and (threads[0] is threading.main_thread()) is not scan_due
