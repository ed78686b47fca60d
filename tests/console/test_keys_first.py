"""A key press is shown before other work: the help screen and the priority dialog are built once
and only refilled, and observations wait while a key's frame is due."""

from __future__ import annotations

import asyncio
import time

from rich.console import Console
from textual import events
from textual.widgets import Static

import harness as h
from vrrptui.console.app import FEED_STEP, FEED_WAIT_MAX
from vrrptui.console.screens import HELP_FRAME, HELP_WIDTH, HelpScreen, PriorityDialog


def help_text(screen: HelpScreen) -> str:
    console = Console(width=120, record=True, file=open("/dev/null", "w"))
    console.print(screen.query_one("#help-text", Static).content)
    return console.export_text()


def test_each_press_shows_the_same_dialog_filled_in_afresh(tmp_path):
    async def run():
        app = h.make_app(tmp_path)
        async with app.run_test(size=(150, 45)) as pilot:
            h.show_steady_backup(app)
            app.query_one("#instances").focus()
            await pilot.pause()
            shown = []
            for key in ("question_mark", "escape", "question_mark", "escape", "p", "escape", "down", "p"):
                await pilot.press(key)
                await pilot.pause()
                shown.append(app.screen)
            dialog = app.screen
            question = str(dialog.query_one("#question").render()), dialog.query_one("#priority").value
            return shown, question

    (help1, main, help2, _, priority1, _, _, priority2), question = asyncio.run(run())
    assert help1 is help2 and isinstance(help1, HelpScreen) and priority1 is priority2 and priority1 is not main
    assert question == ("Priority for VI_6 (now 100); 1-254, Enter to apply, Esc to cancel", "100")


def test_the_help_screen_is_refilled_with_keys_remapped_since_it_was_shown(tmp_path):
    async def run():
        app = h.make_app(tmp_path)
        async with app.run_test(size=(150, 45)) as pilot:
            await pilot.press("question_mark")
            await pilot.pause()
            first, before = app.screen, help_text(app.screen)
            await pilot.press("escape")
            app.set_keymap({"demote": "x", "failover": "ctrl+f"})
            await pilot.press("question_mark")
            await pilot.pause()
            return first, app.screen, before, help_text(app.screen)

    first, second, before, after = asyncio.run(run())
    assert second is first
    assert [line.split()[:3] for line in before.splitlines() if line.split()[1:2] == ["demote"]] == [
        ["d", "demote", "Hand"]]
    assert [line.split()[:3] for line in after.splitlines() if line.split()[1:2] == ["demote"]] == [
        ["x", "demote", "Hand"]]
    assert "x and ^f start a failover drill" in after and "d and f start" in before


def test_the_help_text_is_laid_out_before_the_first_press(tmp_path):
    """The console lays it out once started (VrrpConsole._settle); the first `?` shows it as it is."""

    async def run():
        app = h.make_app(tmp_path)
        async with app.run_test(size=(150, 45)) as pilot:
            laid_out = app.prepare_help().laid_out()
            await pilot.press("question_mark")
            await pilot.pause()
            return laid_out, app.screen.query_one("#help-text", Static).content

    before, shown = asyncio.run(run())
    assert shown is before


def test_the_help_text_is_laid_out_again_for_a_narrower_terminal(tmp_path):
    async def run():
        app = h.make_app(tmp_path)
        async with app.run_test(size=(150, 45)) as pilot:
            widths = []
            for size in ((150, 45), (64, 30)):
                await pilot.resize_terminal(*size)
                await pilot.press("question_mark")
                await pilot.pause()
                laid_out = app.screen.query_one("#help-text", Static).content
                widths.append(max(sum(len(s.text) for s in line) for line in laid_out.lines))
                await pilot.press("escape")
            return widths

    assert asyncio.run(run()) == [HELP_WIDTH - HELP_FRAME, 64 - HELP_FRAME]


def test_observations_are_fed_in_steps_and_wait_while_a_keys_frame_is_due(tmp_path):
    """The key pressed after a burst of adverts is handled after one step of them, and the rest
    are fed once its frame had its turn."""

    async def run():
        app = h.make_app(tmp_path)
        async with app.run_test(size=(150, 45)) as pilot:
            app.observe(h.steady_backup())
            await pilot.pause()
            fed: list[int] = []
            feed = app.session.feed
            app.session.feed = lambda items, now: (fed.append(len(items)), feed(items, now))[1]
            burst = [h.advert(at=h.NOW + i * 0.001) for i in range(FEED_STEP * 2 + 50)]
            at_key: list[int] = []
            show_help = app.action_help
            app.action_help = lambda: (at_key.append(sum(fed)), show_help())[1]
            app.observer(burst)  # as the engine's thread does: one message for the whole inbox
            app.post_message(events.Key("question_mark", "?"))  # as the terminal's driver does, right behind it
            deadline = time.monotonic() + 10
            while sum(fed) < len(burst) and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            await pilot.pause()
            return at_key, isinstance(app.screen, HelpScreen), fed

    at_key, shown, fed = asyncio.run(run())
    assert at_key == [FEED_STEP] and shown
    assert fed == [FEED_STEP, FEED_STEP, 50]


def test_priority_dialog_built_empty_asks_for_the_selected_instance():
    dialog = PriorityDialog()
    dialog.ask("VI_1", 120)
    assert dialog.question() == "Priority for VI_1 (now 120); 1-254, Enter to apply, Esc to cancel"


def test_a_held_key_does_not_stop_the_feed(tmp_path):
    """Past FEED_WAIT_MAX waiting observations the feed goes on, key or not."""

    async def run():
        app = h.make_app(tmp_path)
        async with app.run_test(size=(150, 45)):
            fed: list[int] = []
            feed = app.session.feed
            app.session.feed = lambda items, now: (fed.append(len(items)), feed(items, now))[1]
            app._key_at = time.monotonic()
            app.observer([h.advert(at=h.NOW + i * 0.001) for i in range(FEED_WAIT_MAX + 3 * FEED_STEP)])
            for _ in range(20):  # keys keep coming, as from a key held down
                app._key_at = time.monotonic()
                await asyncio.sleep(0.02)
            return sum(fed)

    assert asyncio.run(run()) >= 3 * FEED_STEP
