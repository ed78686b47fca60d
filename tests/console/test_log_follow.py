"""The advert log appends once a tick and says how many entries it skipped when it fell behind."""

from __future__ import annotations

import asyncio

import harness as h
from vrrptui.console.app import LOG_CATCH_UP


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
