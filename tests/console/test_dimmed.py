"""Dialogs dim the console exactly as Textual does, each style tinted once."""

from __future__ import annotations

from rich.segment import Segment
from rich.style import Style
from textual.color import Color
from textual.renderables.background_screen import BackgroundScreen

from vrrptui.console.dimmed import RememberedTint


def test_remembered_tint_gives_textuals_segments_and_tints_each_style_once():
    tint = Color(10, 20, 30, 0.6)
    segments = [Segment("a", Style(color="red", bgcolor="blue", bold=True)), Segment("b", None),
                Segment("c", Style(color="red", bgcolor="blue", bold=True)), Segment("\n", None, [(1,)]),
                Segment("d", Style(bgcolor="#102030", link="https://example.org"))]
    RememberedTint._tinted.clear()
    assert list(RememberedTint.process_segments(segments, tint)) == list(
        BackgroundScreen.process_segments(segments, tint))
    assert len(RememberedTint._tinted) == 3  # red-on-blue once, None, the linked one
