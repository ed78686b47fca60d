"""The priority dialog applies exactly what was typed, or refuses it and says why."""

from __future__ import annotations

import asyncio

import harness as h
from vrrptui.engine.commands import SetPriority


def press_priority(tmp_path, *keys: str):
    async def run():
        app = h.make_app(tmp_path)
        async with app.run_test(size=(150, 45)) as pilot:
            h.show_steady_backup(app)
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


def test_the_dialog_asks_afresh_each_time_it_opens(tmp_path):
    """Built once and shown again: each press names the selected instance, its priority typed and selected."""

    async def run():
        app = h.make_app(tmp_path)
        async with app.run_test(size=(150, 45)) as pilot:
            h.show_steady_backup(app)
            app.query_one("#instances").focus()
            await pilot.pause()
            await pilot.press("p", "ctrl+u", "2", "5", "5", "escape")  # refused, then cancelled
            await pilot.press("down", "p")
            await pilot.pause()
            dialog = app.screen
            shown = (str(dialog.query_one("#question").render()), dialog.query_one("#priority").value,
                     str(dialog.query_one("#error").render()))
            await pilot.press("9", "0", "enter")  # typing replaces the selected value
            await pilot.pause()
            return shown, list(app.backend.commands), app.screen is app.screen_stack[0]

    shown, commands, closed = asyncio.run(run())
    assert shown == ("Priority for VI_6 (now 100); 1-254, Enter to apply, Esc to cancel", "100", "")
    assert commands == [SetPriority("VI_6", 90)] and closed


def test_what_was_typed_is_shown_as_typed_never_read_as_markup(tmp_path):
    """The refusal quotes the typed text: brackets in it are text, not Textual markup (a stray closing
    tag raised MarkupError in the dialog's handler and stopped the console)."""
    commands, error = press_priority(tmp_path, "[", "/", "x", "]")
    assert commands == []
    assert error == "'[/x]' is not a whole number: use 1-254"
