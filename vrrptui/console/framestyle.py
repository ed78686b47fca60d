"""One rich style per frame for widgets that render line by line.

DOMNode.rich_style walks the styles of every ancestor (the log sits eight deep) at each call, and
Textual's Log and DataTable call it for every line they render: once a second for the whole log
while it scrolls. Styles cannot change while a frame is rendered, so here it is computed once per
render_lines.
"""

from __future__ import annotations

from rich.style import Style
from textual.geometry import Region
from textual.strip import Strip
from textual.widget import Widget


class OneStylePerFrame(Widget):
    """Mix in after the widget class (`class AdvertLog(Log, OneStylePerFrame)`): Textual takes the CSS and
    component classes of the first base's line only."""

    _frame_style: Style | None = None

    def render_lines(self, crop: Region) -> list[Strip]:
        self._frame_style = super().rich_style
        try:
            return super().render_lines(crop)
        finally:
            self._frame_style = None

    @property
    def rich_style(self) -> Style:
        return self._frame_style if self._frame_style is not None else super().rich_style
