"""The advert log appends once a tick and says how many entries it skipped when it fell behind."""

from __future__ import annotations

import asyncio

import harness as h
from vrrptui.console.logview import LOG_CATCH_UP


def test_resumed_log_writes_the_newest_entries_and_counts_the_skipped(tmp_path):
    asyncio.run(_resume(tmp_path))


async def _resume(tmp_path):
    app = h.make_app(tmp_path)
    async with app.run_test(size=(150, 45)) as pilot:
        app.observe([h.advert(at=h.NOW - 0.9 + i * 0.01) for i in range(10)])
        app.refresh_panes()
        log = app.query_one("#log")
        assert len(log.lines) == 10
        await pilot.press("space")  # pause
        app.observe([h.advert(at=h.NOW - 0.5 + i * 0.0001) for i in range(LOG_CATCH_UP + 300)])
        app.refresh_panes()
        assert len(log.lines) == 10
        await pilot.press("space")  # resume
        assert log.lines[10] == ("··· 300 entries skipped: paused, hidden or too many to show; "
                                 "`w` writes the captured packets")
        assert len(log.lines) == 11 + LOG_CATCH_UP
        assert log.written == app.session.log_seq


def status_line(app) -> str:
    return str(app.query_one("#log-status").render())


def newest_text(app) -> str:
    return app.session.text(app.session.log[-1])[-1].split(", ")[-1]


async def more(app, pilot, at: float, n: int = 5):
    app.observe([h.advert(at=at + i * 0.01, prio=1 + i % 250) for i in range(n)])
    app.refresh_panes()
    await pilot.pause()


def at_newest(app) -> bool:
    log = app.query_one("#log")
    return log.is_vertical_scroll_end and log.lines[-1].endswith(newest_text(app))


def test_log_keeps_following_after_counters_twice_a_resize_and_a_cleared_filter(tmp_path):
    asyncio.run(_keeps_following(tmp_path))


async def _keeps_following(tmp_path):
    app = h.make_app(tmp_path)
    async with app.run_test(size=(200, 60)) as pilot:
        await more(app, pilot, h.NOW - 60, 200)
        assert at_newest(app) and status_line(app) == "following"
        await pilot.press("c", "c")
        await more(app, pilot, h.NOW - 50)
        assert at_newest(app) and status_line(app) == "following"
        await pilot.resize_terminal(80, 24)
        await pilot.pause()
        await more(app, pilot, h.NOW - 40)
        assert at_newest(app) and status_line(app) == "following"
        await pilot.press("slash", "ctrl+u", "enter")
        await pilot.pause()
        await more(app, pilot, h.NOW - 30)
        assert at_newest(app) and status_line(app) == "following"
        await pilot.press("slash", *"150", "enter")
        await pilot.pause()
        await more(app, pilot, h.NOW - 20)
        assert at_newest(app) and status_line(app) == "following  filter 150"


def test_scrolling_up_pauses_the_log_visibly_and_end_follows_again(tmp_path):
    asyncio.run(_pause_and_follow(tmp_path))


async def _pause_and_follow(tmp_path):
    app = h.make_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await more(app, pilot, h.NOW - 60, 200)
        log = app.query_one("#log")
        await pilot.press("3", "pageup")  # pane 3 is the advert log
        await pilot.pause()
        assert app.focused is log and status_line(app) == "paused: End to follow"
        shown = list(log.lines)
        await more(app, pilot, h.NOW - 50)
        assert log.lines == shown and not log.is_vertical_scroll_end
        await pilot.resize_terminal(80, 24)
        await more(app, pilot, h.NOW - 45)
        assert status_line(app) == "paused: End to follow"
        await pilot.press("end")
        await pilot.pause()
        assert at_newest(app) and status_line(app) == "following"
        await pilot.press("space")
        await pilot.pause()
        assert status_line(app) == "paused: End to follow"


def test_search_shows_the_newest_match_pauses_and_n_goes_to_older_ones(tmp_path):
    asyncio.run(_search(tmp_path))


async def _search(tmp_path):
    app = h.make_app(tmp_path)
    async with app.run_test(size=(160, 40)) as pilot:
        app.observe([h.advert(at=h.NOW - 60 + i, prio=200 if i in (3, 40) else 101) for i in range(60)])
        app.refresh_panes()
        await pilot.pause()
        log = app.query_one("#log")
        await pilot.press("s", *"prio 200", "enter")
        await pilot.pause()
        assert status_line(app) == "paused: End to follow  search 'prio 200': 2 lines, n/N next"
        newest = log.match_line
        assert "prio 200" in log.lines[newest]
        assert log.scroll_y <= newest < log.scroll_y + log.scrollable_content_region.height
        await pilot.press("n")
        await pilot.pause()
        assert log.match_line < newest and "prio 200" in log.lines[log.match_line]
        assert log.scroll_y <= log.match_line < log.scroll_y + log.scrollable_content_region.height
        await pilot.press("N")
        await pilot.pause()
        assert log.match_line == newest
        await pilot.press("s", "ctrl+u", *"nothing like this", "enter")
        await pilot.pause()
        assert status_line(app).endswith("search 'nothing like this': not found")


def test_the_timer_writes_a_busy_log_in_steps_with_the_same_lines_and_the_skipped_count(tmp_path):
    asyncio.run(_steps(tmp_path))


async def _steps(tmp_path):
    from vrrptui.console.app import LOG_STEP, PANES_EVERY

    lines = []
    for stepwise in (False, True):
        app = h.make_app(tmp_path)
        async with app.run_test(size=(150, 45)) as pilot:
            app.observe([h.advert(at=h.NOW - 0.9 + i * 0.01) for i in range(10)])
            app.refresh_panes()
            backlog = LOG_CATCH_UP + 3 * LOG_STEP + 7  # more than a tick writes: some are skipped
            app.observe([h.advert(at=h.NOW - 0.5 + i * 0.0001, prio=1 + i % 250) for i in range(backlog)])
            app._ticks = PANES_EVERY - 1  # the next tick refreshes the panes
            if stepwise:
                await app._timer_tick()
            else:  # all at once
                app.query_one("#log").follow(app.session, None, None, LOG_CATCH_UP)
            await pilot.pause()
            log = app.query_one("#log")
            assert log.written == app.session.log_seq
            lines.append(list(log.lines))
    assert lines[0] == lines[1] and len(lines[0]) == 11 + LOG_CATCH_UP
    assert lines[0][10].startswith(f"··· {3 * LOG_STEP + 7} entries skipped")
