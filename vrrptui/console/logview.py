"""The advert log pane: tcpdump-style lines that follow the newest entry, or say they do not.

`following` is the operator's intent, kept across resizes, filters, tabs and dialogs: while
following, every append ends at the newest line; scrolling up (keys, wheel, scrollbar) or a
search pauses, End (or space) follows again, and the status line under the log says which.
"""

from __future__ import annotations

import itertools
import textwrap
from collections import deque
from typing import Any

from rich.cells import cell_len
from rich.highlighter import Highlighter
from rich.style import Style
from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.geometry import Size
from textual.message import Message
from textual.strip import Strip
from textual.widget import Widget
from textual.widgets import Log, Static

from vrrptui.console.framestyle import OneStylePerFrame
from vrrptui.observe.session import Session, parse_filter

LOG_CATCH_UP = 2000  # entries written at most per tick (also when shown again, resumed or refiltered)
RENDER_CACHE_LINES = 200  # rendered lines kept (a screen or two; Log keeps 1,024)
WRAP_INDENT = "    "  # continuation lines of an entry wider than the pane
CURRENT_MATCH = Style(reverse=True)


class SearchHighlighter(Highlighter):
    def __init__(self, term: str) -> None:
        self.term = term

    def highlight(self, text: Text) -> None:
        text.highlight_words([self.term], style="bold black on yellow", case_sensitive=False)


class AdvertLog(Log, OneStylePerFrame):
    """The lines themselves. Log.write_lines starts a thread per call to measure the new lines and
    relayouts the screen when the line count changes; at ~2,500 lines/s `append` measures them here
    instead (a few µs a line), sets the virtual size only when it changed, and repaints the log alone.
    Lines wider than the pane wrap at a space (never mid-number) and are rewrapped on resize.
    """

    MAX_LINES = 5000  # ~2 s of scrollback at 2,550 adverts/s

    class Following(Message):
        """The log started or stopped following (the operator scrolled, searched, pressed End)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(max_lines=self.MAX_LINES, auto_scroll=False, **kwargs)
        self.written = 0  # seq of the last entry written (or skipped)
        self.following = True
        self.pcap_key = "w"  # named in the "skipped" line; the app sets the user's key
        self.search_term = ""
        self.match_line: int | None = None
        self._entries: deque[str] = deque(maxlen=self.MAX_LINES)  # unwrapped, to rewrap on resize
        self._render_line_cache.maxsize = RENDER_CACHE_LINES
        self._wrap_width = 0

    # --- what is written --------------------------------------------------------------

    def follow(self, session: Session, vrid: int | None, src: str | None, limit: int,
               most: int | None = None) -> bool:
        """Append the entries logged since the last call (filtered by vrid/src), the newest `limit` at most.

        Older ones (the log was paused, hidden or behind) are skipped and a line says how many.
        `most`: unfiltered, only the oldest `most` of them now (formatting is the cost; the app's
        timer writes in steps so that keys are not kept waiting). Returns whether some are left.
        """
        newest = session.log_seq
        cut = max(self.written, newest - limit)
        skipped = cut - self.written if self.written else 0
        lines: list[str] = []
        if skipped:
            what = "entries" if vrid is None and src is None else "entries (before the filter)"
            lines.append(f"··· {skipped} {what} skipped: paused, hidden or too many to show; `{self.pcap_key}` "
                         "writes the captured packets")
        end = newest
        if most is not None and vrid is None and src is None and newest - cut > most:
            end = cut + most  # seqs are consecutive: the newest record is seq log_seq, the one before it - 1...
            first = max(0, len(session.log) - (newest - cut))
            for record in itertools.islice(session.log, first, first + most):
                lines.extend(session.text(record))
        else:
            lines.extend(session.log_lines(vrid, src, after=cut))
        self.written = end
        self.append(lines)
        return end < newest

    def append(self, lines: list[str]) -> None:
        if not lines:
            return
        self._entries.extend(lines)
        width = self._width_for_wrap()
        self._lines.extend(wrap(lines, width))
        if self.max_lines is not None and len(self._lines) > self.max_lines:
            pruned = len(self._lines) - self.max_lines
            self._prune_max_lines()
            if self.match_line is not None:
                self.match_line = self.match_line - pruned if self.match_line >= pruned else None
        self._set_virtual_size(width)
        if self.following:
            self.scroll_end(animate=False, immediate=True, x_axis=False)
        self.refresh()

    def clear(self) -> AdvertLog:
        super().clear()
        self._entries.clear()
        self.written = 0
        self.match_line = None
        return self

    def _width_for_wrap(self) -> int:
        """The pane's width less the vertical scrollbar's, whether it is showing yet or not."""
        self._wrap_width = max(self.content_region.width - self.styles.scrollbar_size_vertical, 20)
        return self._wrap_width

    def _set_virtual_size(self, width: int) -> None:
        """virtual_size is a layout reactive: a new line would relayout the whole screen. Only the
        scrollbar needs to know, unless it appears or goes (then the width for text changes)."""
        self._width = width
        size = Size(width, len(self._lines))
        if size == self.virtual_size:
            return
        height = self.scrollable_content_region.height
        if width == self.virtual_size.width and (size.height > height) == (self.virtual_size.height > height):
            self.set_reactive(Widget.virtual_size, size)
            self._scroll_update(size)
        else:
            self.virtual_size = size

    def on_resize(self, _event: events.Resize) -> None:
        if self.content_region.width - self.styles.scrollbar_size_vertical != self._wrap_width:
            width = self._width_for_wrap()
            self._lines = wrap(list(self._entries), width)[-self.MAX_LINES:]
            self._render_line_cache.clear()
            self.match_line = None
            self._set_virtual_size(width)
        if self.following:
            self.scroll_end(animate=False, immediate=True, x_axis=False)
        self.refresh()

    # --- following --------------------------------------------------------------------

    def set_following(self, following: bool) -> None:
        if following != self.following:
            self.following = following
            self.post_message(self.Following())
        if following:
            self.scroll_end(animate=False, immediate=True, x_axis=False)

    def action_scroll_end(self) -> None:  # End
        self.set_following(True)

    def action_scroll_up(self) -> None:
        self.set_following(False)
        super().action_scroll_up()

    def action_page_up(self) -> None:
        self.set_following(False)
        super().action_page_up()

    def action_scroll_home(self) -> None:
        self.set_following(False)
        super().action_scroll_home()

    def _on_mouse_scroll_up(self, event: events.MouseScrollUp) -> None:
        self.set_following(False)
        super()._on_mouse_scroll_up(event)

    def watch_scroll_y(self, old: float, new: float) -> None:
        super().watch_scroll_y(old, new)
        if self.is_vertical_scrollbar_grabbed and new < old:
            self.set_following(False)

    # --- search -----------------------------------------------------------------------

    def search(self, term: str, older: bool = True) -> int:
        """Highlight `term` and show the next match (older or newer than the one shown); pauses.

        Returns how many lines match (0: nothing found, nothing moved).
        """
        self.search_term = term
        self.highlight = bool(term)
        self.highlighter = SearchHighlighter(term)
        self._render_line_cache.clear()
        self.refresh()
        needle = term.lower()
        matches = [i for i, line in enumerate(self._lines) if needle and needle in line.lower()]
        if not matches:
            self.match_line = None
            return 0
        self.set_following(False)
        start = self.match_line if self.match_line is not None else len(self._lines)
        if older:
            before = [i for i in matches if i < start]
            self.match_line = before[-1] if before else matches[-1]
        else:
            after = [i for i in matches if i > start]
            self.match_line = after[0] if after else matches[0]
        self.scroll_to(y=max(0, self.match_line - self.scrollable_content_region.height // 2), animate=False,
                       immediate=True)
        return len(matches)

    def _render_line_strip(self, y: int, rich_style: Style) -> Strip:
        strip = super()._render_line_strip(y, rich_style)
        if self.text_selection is None:  # Log caches only the lines of a selection (Textual 8.2: a test inverted)
            self._render_line_cache[y] = strip
        return strip.apply_style(CURRENT_MATCH) if y == self.match_line else strip


def wrap(lines: list[str], width: int) -> list[str]:
    """Lines wider than `width` broken at spaces, continuation lines indented."""
    out: list[str] = []
    for line in lines:
        if len(line) <= width and cell_len(line) <= width:
            out.append(line)
        else:
            out.extend(textwrap.wrap(line, width, subsequent_indent=WRAP_INDENT, break_on_hyphens=False,
                                     drop_whitespace=True) or [""])
    return out


class LogView(Vertical):
    """The log, its filter, and a status line: `following` or `paused: End to follow`."""

    DEFAULT_CSS = """
    LogView { height: 1fr; }
    LogView > AdvertLog { height: 1fr; overflow-x: hidden; }
    LogView > #log-status { height: 1; padding: 0 1; background: $boost; }
    """

    def __init__(self, session: Session, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.session = session
        self.filter_text = ""
        self._filter: tuple[int | None, str | None] = (None, None)
        self.matches = 0

    def compose(self) -> ComposeResult:
        yield AdvertLog(id="log")
        yield Static(id="log-status")

    def on_mount(self) -> None:
        self.show_status()

    @property
    def log_widget(self) -> AdvertLog:
        return self.query_one(AdvertLog)

    def tick(self, most: int | None = None) -> bool:
        """Write what was logged since the last tick, if following (the app calls it when visible).

        `most`: at most that many entries now; returns whether some are left to write."""
        if self.log_widget.following:
            return self.log_widget.follow(self.session, *self._filter, LOG_CATCH_UP, most)
        return False

    def backlog(self) -> int:
        """Entries logged since the last write (all of them count, filtered or not)."""
        return self.session.log_seq - self.log_widget.written

    def set_filter(self, text: str) -> None:
        """Only this VRID and/or source from now on: the log is refilled, following or not."""
        self.filter_text = text
        self._filter = parse_filter(text)
        log = self.log_widget
        log.clear()
        log.follow(self.session, *self._filter, LOG_CATCH_UP)
        log.scroll_end(animate=False, immediate=True, x_axis=False)
        self.show_status()

    def toggle_following(self) -> None:
        self.log_widget.set_following(not self.log_widget.following)

    def search(self, term: str, older: bool = True) -> None:
        self.matches = self.log_widget.search(term, older)
        self.show_status()

    def on_advert_log_following(self, _message: AdvertLog.Following) -> None:
        if self.log_widget.following:
            self.tick()
        self.show_status()

    def show_status(self) -> None:
        log = self.log_widget
        text = Text()
        if log.following:
            text.append("following", style="green")
        else:
            text.append("paused: End to follow", style="bold yellow")
        if self.filter_text:
            text.append(f"  filter {self.filter_text}", style="cyan")
        if log.search_term:
            found = f"{self.matches} lines, n/N next" if self.matches else "not found"
            text.append(f"  search {log.search_term!r}: {found}", style="yellow" if self.matches else "red")
        self.query_one("#log-status", Static).update(text)
