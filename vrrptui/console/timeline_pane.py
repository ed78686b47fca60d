"""The Timeline pane: a strip per source for every virtual router, drawn only where it is seen.

255 VRIDs make ~765 lines a tick, of which a screen shows a dozen. The pane lays out every
line from the timeline's cheap row labels, and draws (Line API, `render_line`) only the lines
the compositor asks for: the ones inside the scroll container's view. Equal characters are
one styled run, and a tick repaints the pane only when a visible line changed (a new line
count relayouts it; that is all that ever does).
"""

from __future__ import annotations

from itertools import groupby
from typing import NamedTuple

from rich.segment import Segment
from rich.style import Style
from textual.geometry import Size
from textual.strip import Strip
from textual.widget import Widget

from vrrptui.console.format import interval
from vrrptui.console.framestyle import OneStylePerFrame
from vrrptui.records import RouterKey
from vrrptui.observe.session import Session
from vrrptui.observe.timeline import MASTER, MISSED, PRIORITY, RESIGN, TimelineRow

MARK_STYLE = {MISSED: "bold red", MASTER: "bold green", PRIORITY: "bold yellow", RESIGN: "bold magenta",
              "D": "bold white on blue", "F": "bold white on red"}
LABEL_WIDTH = 18
LEGEND = "| advert  M new master  P priority change  0 resign  x missed  D/F drill"
EMPTY = "no adverts heard yet"


class _Line(NamedTuple):
    """What one line of the pane is: a router's header (row -1), one of its rows, or a text line."""

    key: RouterKey | None
    row: int  # -1: the router's header
    text: str = ""  # key None: EMPTY or LEGEND


class TimelinePane(OneStylePerFrame):
    DEFAULT_CSS = "TimelinePane { height: auto; }"

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self._session: Session | None = None
        self._now = 0.0
        self._width = 10
        self._lines: list[_Line] = [_Line(None, 0, EMPTY), _Line(None, 0, LEGEND)]
        self._rows: dict[RouterKey, list[TimelineRow]] = {}  # drawn this tick, for the lines asked for
        self._painted: dict[int, tuple[tuple[str, str], ...]] = {}  # y -> the runs on screen
        self._styles: dict[str, Style] = {}

    # --- per tick --------------------------------------------------------------------

    def refresh_from(self, session: Session, now: float) -> None:
        self._session, self._now = session, now
        width = max(10, (self.size.width or 80) - LABEL_WIDTH - 2)
        timeline = session.timeline
        lines: list[_Line] = []
        for key in timeline.keys():
            labels = timeline.labels(key, now, width)
            lines.append(_Line(key, -1))
            lines.extend(_Line(key, i) for i in range(len(labels)))
        if not lines:
            lines.append(_Line(None, 0, EMPTY))
        lines.append(_Line(None, 0, LEGEND))
        self._rows.clear()
        relayout = len(lines) != len(self._lines)
        changed = relayout or width != self._width or lines != self._lines
        self._lines, self._width = lines, width
        if relayout:
            self._painted.clear()
            self.refresh(layout=True)
            return
        top, height = self._view()
        for y in range(top, min(top + height, len(lines))):
            if self._painted.get(y) != self._runs(y):
                changed = True
                break
        if changed:
            self._painted.clear()
            self.refresh()

    def _view(self) -> tuple[int, int]:
        """(first line, lines) of the pane inside its scroll container's view."""
        parent = self.parent
        if isinstance(parent, Widget) and parent.is_scrollable:
            return int(parent.scroll_y) - self.virtual_region.y, parent.scrollable_content_region.height
        return 0, self.size.height

    # --- lines -----------------------------------------------------------------------

    def _row(self, key: RouterKey, i: int) -> TimelineRow | None:
        rows = self._rows.get(key)
        if rows is None and self._session is not None:
            rows = self._rows[key] = self._session.timeline.rows(key, self._now, self._width)
        return rows[i] if rows is not None and i < len(rows) else None

    def _runs(self, y: int) -> tuple[tuple[str, str], ...]:
        """Line y as (text, style) runs: equal marks share one run."""
        line = self._lines[y] if 0 <= y < len(self._lines) else None
        if line is None:
            return ()
        if line.key is None:
            return ((line.text, "dim"),)
        if line.row < 0:
            slot = self._session.timeline.slot(line.key) if self._session else None
            return ((f"{line.key}  ", "bold"), (f"{interval(slot)} per char, newest right", "dim"))
        row = self._row(line.key, line.row)
        if row is None:
            return ()
        plain = "green" if row.master else ""
        runs = [(f"  {fit_label(row.label, LABEL_WIDTH - 3):<{LABEL_WIDTH - 2}}", "bold" if row.master else "")]
        strip = row.strip[-self._width:].rjust(self._width)  # every strip ends at "now"
        for style, chars in groupby(strip, key=lambda c: MARK_STYLE.get(c, plain)):
            runs.append(("".join(chars), style))
        return tuple(runs)

    # --- Textual ---------------------------------------------------------------------

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return len(self._lines)

    def get_content_width(self, container: Size, viewport: Size) -> int:
        return container.width

    def render_line(self, y: int) -> Strip:
        base = self.rich_style
        runs = self._runs(y)
        self._painted[y] = runs
        segments = [Segment(text, base + self._style(style)) for text, style in runs]
        return Strip(segments).adjust_cell_length(self.size.width, base)

    def _style(self, spec: str) -> Style:
        style = self._styles.get(spec)
        if style is None:
            style = self._styles[spec] = Style.parse(spec) if spec else Style()
        return style

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._painted.clear()


def fit_label(label: str, width: int) -> str:
    """A source address in `width` columns: the middle elided (an IPv6 address's tail tells routers apart)."""
    if len(label) <= width:
        return label
    head = (width - 1) // 2
    return f"{label[:head]}…{label[len(label) - (width - 1 - head):]}"
