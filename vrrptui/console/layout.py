"""The console's layout, and how it adapts to the terminal: 80x24 keeps every pane and `q` in view.

Textual has no media queries: on each resize the screen gets `-narrow` (under 120 columns)
and `-short` (under 32 rows) classes, and the footer turns compact where it would be cut.
"""

from __future__ import annotations

from textual.app import App
from textual.geometry import Size
from textual.widgets import Footer

NARROW_COLUMNS = 120
SHORT_ROWS = 32

CONSOLE_CSS = """
HeaderBar { height: auto; background: $boost; padding: 0 1; }
#instances { height: auto; max-height: 14; }
#counters { height: auto; padding: 0 1; display: none; }
#middle { height: auto; max-height: 45%; min-height: 8; }
#timeline-scroll { width: 3fr; height: auto; max-height: 100%; border: round $primary-darken-2; }
#timeline-scroll:focus-within { border: round $accent; }
#labping { width: 1fr; height: auto; padding: 0 1; border: round $primary-darken-2; }
#tabs { height: 1fr; }
#tabs.-maximized, #instances.-maximized, #timeline-scroll.-maximized { height: 1fr; max-height: 100%; }
Screen.-short #instances { max-height: 6; }
Screen.-short #middle { max-height: 30%; min-height: 5; }
Screen.-short #counters { max-height: 4; }
Screen.-narrow #labping { display: none; }
"""


class ConsoleFooter(Footer):
    """Textual's Footer, recomposed only when the keys it shows changed.

    Footer recomposes on every change of the screen's bindings (each dialog pushed or popped, each
    focus change), ~20 new widgets each time; the old ones hold reference cycles, so only a full
    garbage collection frees them (rare under load: ~0.5 MB per dialog opened stayed). Same keys,
    same widgets here. And Textual leaves the removed keys bound to `compact` until `compact`
    changes: re-announcing it after a recompose drops them."""

    _shown: tuple[object, ...] | None = None

    def shown_keys(self) -> tuple[object, ...]:
        """What compose() would show: every shown binding with its key, state and tooltip."""
        keys = tuple((b.key, self.app.get_key_display(b), b.description, b.action, b.group, enabled, tooltip)
                     for _, b, enabled, tooltip in self.screen.active_bindings.values() if b.show)
        return keys + (self._bindings_ready, self.show_command_palette)

    async def recompose(self) -> None:
        shown = self.shown_keys() if self.is_attached else None
        if shown is not None and shown == self._shown:
            return
        self._shown = shown
        await super().recompose()
        self.mutate_reactive(Footer.compact)


def adapt(app: App, size: Size) -> None:
    """Classes for the terminal's size; the footer compact where its keys would not fit."""
    screen = app.screen_stack[0] if app.screen_stack else None
    if screen is None:
        return
    screen.set_class(size.width < NARROW_COLUMNS, "-narrow")
    screen.set_class(size.height < SHORT_ROWS, "-short")
    for footer in screen.query(Footer):
        footer.compact = size.width < NARROW_COLUMNS
