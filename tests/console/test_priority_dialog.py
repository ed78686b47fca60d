"""The priority dialog applies exactly what was typed, or refuses it and says why."""

from __future__ import annotations

import asyncio

import harness as h
from vrrptui.engine.commands import SetPriority


def press_priority(tmp_path, *keys: str):
    async def run():
        app = h.make_app(tmp_path)
        async with app.run_test(size=(150, 45)) as pilot:
            app.observe(h.steady_backup())
            app.refresh_panes()
            await pilot.pause()
            await pilot.press("p", "ctrl+u", *keys, "enter")
            await pilot.pause()
            error = str(app.screen.query_one("#error").render()) if app.screen is not app.screen_stack[0] else None
            return list(app.backend.commands), error

    return asyncio.run(run())


def test_a_decimal_priority_is_refused_not_applied_as_its_digits(tmp_path):
    commands, error = press_priority(tmp_path, "1", ".", "5")
    assert commands == []
    assert error == "'1.5' is not a whole number: use 1-254"


def test_out_of_range_priority_is_refused(tmp_path):
    commands, error = press_priority(tmp_path, "2", "5", "5")
    assert commands == []
    assert error == "255 is out of range: use 1-254 (255 is the address owner's, 0 is `d`)"


def test_a_whole_priority_is_applied(tmp_path):
    commands, error = press_priority(tmp_path, "1", "5", "0")
    assert commands == [SetPriority("VI_1", 150)] and error is None
