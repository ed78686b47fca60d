"""Getting around the console by keyboard: number keys for the panes, zoom, clear focus, log search.

The panes are numbered in screen order (Instances, Timeline, then each tab), read from the
screen itself so a pane added to the tabs gets the next number and a palette entry.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import partial
from typing import Any

from textual.app import SystemCommand
from textual.binding import Binding
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import TabbedContent, TabPane

from vrrptui.console.logview import LogView
from vrrptui.console.screens import SearchDialog

MAX_PANES = 9
NAVIGATION_BINDINGS = [
    Binding("s", "search", "Search", id="search", tooltip="Search the advert log (n: older match, N: newer)"),
    Binding("n", "search_next(True)", "Next match", id="search_next", show=False, tooltip="Older search match"),
    Binding("N", "search_next(False)", "Previous match", id="search_previous", show=False,
            tooltip="Newer search match"),
    Binding("z", "zoom", "Zoom", id="zoom", show=False,
            tooltip="Zoom the focused pane to the whole screen (z again: back)"),
    Binding("escape", "clear_focus", "Clear focus", id="clear_focus", show=False,
            tooltip="Leave the focused pane (or the zoom): keys act on the console again"),
    *[Binding(str(n), f"pane({n})", f"Pane {n}", id=f"pane{n}", show=False,
              tooltip=f"Show and focus pane {n} (1 Instances, 2 Timeline, 3... the tabs)" if n == 1 else f"Pane {n}")
      for n in range(1, MAX_PANES + 1)],
]


@dataclass(frozen=True)
class Pane:
    title: str
    widget: Widget  # what gets the focus
    tab: str | None = None  # the TabPane to activate first


class Navigation:
    """Actions mixed into the console app (textual merges BINDINGS only from widget classes, hence the list)."""

    def panes(self: Any) -> list[Pane]:
        out: list[Pane] = []
        if self.backend.engine:
            out.append(Pane("Instances", self.query_one("#instances")))
        out.append(Pane("Timeline", self.query_one("#timeline-scroll")))
        tabs = self.query_one("#tabs", TabbedContent)
        for tab in tabs.query(TabPane):
            focusable = [w for w in tab.query("*") if w.can_focus]
            out.append(Pane(str(tabs.get_tab(tab.id or "").label.plain), focusable[0] if focusable else tab, tab.id))
        return out[:MAX_PANES]

    def action_pane(self: Any, number: int) -> None:
        panes = self.panes()
        if not 1 <= number <= len(panes):
            self.notify(f"no pane {number}: panes 1-{len(panes)}", severity="warning", timeout=3)
            return
        self.show_pane(panes[number - 1])

    def show_pane(self: Any, pane: Pane) -> None:
        if self.screen.maximized is not None:
            self.screen.minimize()
        if pane.tab:
            self.query_one("#tabs", TabbedContent).active = pane.tab
        self.call_after_refresh(pane.widget.focus)

    def zoom_target(self: Any) -> Widget | None:
        """The pane holding the focus: a whole tabbed area zooms with its tab bar."""
        focused = self.screen.focused
        if focused is None:
            return None
        for widget in [focused, *focused.ancestors]:
            if getattr(widget, "id", None) in ("instances", "timeline-scroll", "tabs"):
                return widget
        return None

    def action_zoom(self: Any) -> None:
        if self.screen.maximized is not None:
            self.screen.minimize()
            return
        target = self.zoom_target()
        if target is None:
            self.notify("focus a pane first (1-9), then z", severity="warning", timeout=3)
            return
        self.screen.maximized = target

    def action_clear_focus(self: Any) -> None:
        if self.screen.maximized is not None:
            self.screen.minimize()
        self.screen.set_focus(None)

    def action_search(self: Any) -> None:
        view = self.query_one(LogView)

        def apply(term: str | None) -> None:
            if term is None:
                return
            self.query_one("#tabs", TabbedContent).active = "tab-log"
            view.search(term)

        self.push_screen(SearchDialog(view.log_widget.search_term), apply)

    def action_search_next(self: Any, older: bool) -> None:
        view = self.query_one(LogView)
        if view.log_widget.search_term:
            view.search(view.log_widget.search_term, older)

    def get_system_commands(self: Any, screen: Screen) -> Iterable[SystemCommand]:
        """The palette (ctrl+p): Textual's own entries, one per pane, one per key in the footer."""
        yield from super().get_system_commands(screen)  # type: ignore[misc]
        for number, pane in enumerate(self.panes(), 1):
            yield SystemCommand(f"Pane {number}: {pane.title}", f"Show and focus {pane.title} (key {number})",
                                partial(self.show_pane, pane))
        for binding in self.BINDINGS:
            if binding.show and self.check_action(binding.action, ()):
                yield SystemCommand(binding.description, binding.tooltip, partial(self.run_action, binding.action))
