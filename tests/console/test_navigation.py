"""Keyboard navigation: number keys for the panes, zoom, clear focus, palette entries, 80x24."""

from __future__ import annotations

import asyncio

import harness as h
from textual.widgets._footer import FooterKey


def run(tmp_path, size, body):
    async def main():
        app = h.make_app(tmp_path)
        async with app.run_test(size=size) as pilot:
            h.show_steady_backup(app)
            await pilot.pause()
            return await body(app, pilot)

    return asyncio.run(main())


def test_number_keys_show_and_focus_each_pane(tmp_path):
    async def body(app, pilot):
        seen = []
        for key in "12345678":
            await pilot.press(key)
            await pilot.pause()
            seen.append((app.query_one("#tabs").active, app.focused.id if app.focused else None))
        return seen

    assert run(tmp_path, (150, 45), body) == [
        ("tab-log", "instances"), ("tab-log", "timeline-scroll"), ("tab-log", "log"), ("tab-peers", "peers"),
        ("tab-vips", "vips"), ("tab-drills", "drills"), ("tab-history", "history"),
        ("tab-history", "history"),  # 8: no such pane, nothing moves
    ]


def test_zoom_fills_the_screen_with_the_focused_pane_and_escape_clears_focus(tmp_path):
    async def body(app, pilot):
        await pilot.press("4", "z")
        await pilot.pause()
        zoomed = app.screen.maximized.id if app.screen.maximized else None
        await pilot.press("z")
        await pilot.pause()
        after_z = app.screen.maximized
        await pilot.press("1", "z", "escape")  # escape leaves the zoom first, then the focus
        await pilot.pause()
        first = (app.screen.maximized, app.focused.id)
        await pilot.press("escape")
        await pilot.pause()
        return zoomed, after_z, first, app.focused

    assert run(tmp_path, (150, 45), body) == ("tabs", None, (None, "instances"), None)


def test_palette_has_an_entry_for_every_pane(tmp_path):
    async def body(app, pilot):
        return [c.title for c in app.get_system_commands(app.screen) if c.title.startswith("Pane ")]

    assert run(tmp_path, (150, 45), body) == [
        "Pane 1: Instances", "Pane 2: Timeline", "Pane 3: Advert log", "Pane 4: Peers", "Pane 5: VIP presence",
        "Pane 6: Drills", "Pane 7: History"]


def test_footer_shows_q_at_80x24_and_120x40(tmp_path):
    async def body(app, pilot):
        out = []
        for size in ((80, 24), (120, 40), (200, 60)):
            await pilot.resize_terminal(*size)
            await pilot.pause()
            quit_key = next(k for k in app.query(FooterKey) if k.action == "quit")
            out.append(quit_key.region.width > 0 and quit_key.region.right <= size[0])
        return out

    assert run(tmp_path, (150, 45), body) == [True, True, True]
