"""Dialogs dim the console exactly as Textual does, each style tinted once."""

from __future__ import annotations

from rich.segment import Segment
from rich.style import Style
from textual.color import Color
from textual.renderables.background_screen import BackgroundScreen

from vrrptui.console.dimmed import RememberedTint


def test_remembered_tint_gives_textuals_segments_and_blends_each_colour_pair_once():
    tint = Color(10, 20, 30, 0.6)
    segments = [Segment("a", Style(color="red", bgcolor="blue", bold=True)), Segment("b", None),
                Segment("c", Style(color="red", bgcolor="blue", bold=True)), Segment("\n", None, [(1,)]),
                Segment("d", Style(bgcolor="#102030", link="https://example.org"))]
    cells = [Segment("e", Style(color="red", bgcolor="blue", italic=True) + Style.from_meta({"row": row}))
             for row in range(3)]  # a table's cells: their styles differ only in meta
    RememberedTint._tinted.clear()
    RememberedTint._colours.clear()
    assert list(RememberedTint.process_segments(segments + cells, tint)) == list(
        BackgroundScreen.process_segments(segments + cells, tint))
    assert len(RememberedTint._tinted) == 6  # red-on-blue once, None, the linked one, three cells
    assert len(RememberedTint._colours) == 3  # red on blue, none, on #102030: one blend each


def test_dimmed_screen_draws_the_same_lines_as_textuals_background_screen(tmp_path):
    import asyncio

    import harness as h
    from textual.visual import RichVisual, Visual

    from vrrptui.console.dimmed import DimmedScreen

    async def run():
        app = h.make_app(tmp_path)
        async with app.run_test(size=(120, 40)) as pilot:
            h.show_steady_backup(app)
            await pilot.pause()
            main = app.screen
            await pilot.press("question_mark")
            await pilot.pause()
            dialog, tint = app.screen, Color(0, 0, 0, 0.6)
            textuals = Visual.to_strips(dialog, RichVisual(dialog, BackgroundScreen(main, tint)), 120, 40,
                                        dialog.visual_style)
            ours = Visual.to_strips(dialog, DimmedScreen(main, tint), 120, 40, dialog.visual_style)
            return [list(s) for s in textuals], [list(s) for s in ours]

    textuals, ours = asyncio.run(run())
    assert len(ours) == 40 and ours == textuals
