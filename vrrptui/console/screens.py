"""Modal screens: the priority dialog, the log filter and search, the help screen."""

from __future__ import annotations

from rich.console import Console, ConsoleOptions, Group, RenderResult
from rich.segment import Segment
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.validation import Function
from textual.widgets import Input, Label, Static
from textual.widgets.input import Selection

from vrrptui.console.dimmed import DimmedModal, ResultType
from vrrptui.console.panes import update_if_changed
from vrrptui.observe.session import parse_filter

HELP_WIDTH = 80  # columns of the help box
HELP_FRAME = 6  # its border (thick: 1 a side) and padding (2 a side)
DIALOG_CSS = f"""
PriorityDialog, FilterDialog, SearchDialog, HelpScreen {{ align: center middle; }}
#dialog {{ width: 80; max-width: 100%; height: auto; border: thick $accent; background: $surface; padding: 1 2; }}
#dialog .error {{ color: $error; }}
#help {{ width: {HELP_WIDTH}; max-width: 100%; height: auto; max-height: 90%; border: thick $accent;
        background: $surface; padding: 1 2; }}
"""


class InputDialog(DimmedModal[ResultType]):
    """A one-line question: Enter answers (each dialog checks its answer), Escape dismisses with None."""

    DEFAULT_CSS = DIALOG_CSS
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="dialog.cancel")]

    def action_cancel(self) -> None:
        self.dismiss(None)


class PriorityDialog(InputDialog[int | None]):
    """Set the selected instance's priority: 1-254, checked before it is accepted.

    The app builds it once and asks again with `ask` (a new dialog per press costs a compose,
    a stylesheet pass and a relayout: tens of ms under load)."""

    def __init__(self, instance: str = "", current: int = 0) -> None:
        super().__init__()
        self.instance = instance
        self.current = current

    def question(self) -> str:
        return f"Priority for {self.instance} (now {self.current}); 1-254, Enter to apply, Esc to cancel"

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Label(Text(self.question()), id="question")
            # type="text": an integer Input silently drops what is not a digit (1.5 became 15)
            yield Input(str(self.current), id="priority")
            yield Label("", id="error", classes="error")

    def ask(self, instance: str, current: int) -> None:
        """Ask again, for this instance: as a new dialog would, the current priority typed and selected."""
        self.instance, self.current = instance, current
        if not self.is_mounted:
            return  # composed with these when first shown
        update_if_changed(self.query_one("#question", Label), Text(self.question()))
        update_if_changed(self.query_one("#error", Label), Text(""))
        field = self.query_one("#priority", Input)
        field.value = str(current)
        field.selection = Selection(0, len(field.value))
        field.focus()

    def on_input_changed(self, event: Input.Changed) -> None:
        update_if_changed(self.query_one("#error", Label), Text(priority_problem(event.value) or ""))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        problem = priority_problem(event.value)
        if problem:
            update_if_changed(self.query_one("#error", Label), Text(problem))
            return
        self.dismiss(int(event.value.strip()))


def priority_problem(text: str) -> str | None:
    """Why `text` is not a priority the operator may set, or None."""
    value = text.strip()
    if not value.isascii() or not value.isdigit():
        return f"{value!r} is not a whole number: use 1-254" if value else "type a priority, 1-254"
    if not 1 <= int(value) <= 254:
        return f"{int(value)} is out of range: use 1-254 (255 is the address owner's, 0 is `d`)"
    return None


def _valid_filter(text: str) -> bool:
    try:
        parse_filter(text)
    except ValueError:
        return False
    return True


class FilterDialog(InputDialog[str | None]):

    def __init__(self, current: str) -> None:
        super().__init__()
        self.current = current

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Label("Show only a VRID and/or a source address (empty: everything)")
            yield Input(self.current, placeholder="150 or 192.168.1.11", id="filter",
                        validators=[Function(_valid_filter, "a VRID 1-255 and/or an IP address")])
            yield Label("", id="error", classes="error")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.validation_result is not None and not event.validation_result.is_valid:
            self.query_one("#error", Label).update("; ".join(event.validation_result.failure_descriptions))
            return
        self.dismiss(event.value.strip())


class SearchDialog(InputDialog[str | None]):
    """Text to find in the advert log (case-insensitive); empty clears the search."""

    def __init__(self, current: str) -> None:
        super().__init__()
        self.current = current

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Label("Find in the advert log (n: older match, N: newer; empty: no search)")
            yield Input(self.current, placeholder="prio 0 or 192.168.1.12", id="search")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value.strip())


class LaidOut:
    """Lines of segments already laid out, as a Rich renderable."""

    def __init__(self, lines: list[list[Segment]]) -> None:
        self.lines = lines

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        for line in self.lines:
            yield from line
            yield Segment.line()


class HelpScreen(DimmedModal[None]):
    """Every key and what it does. The app builds it once and refills it (`show_rows`) when the keys
    were remapped since: a press only shows it again."""

    DEFAULT_CSS = DIALOG_CSS
    BINDINGS = [Binding("escape,q,question_mark", "close", "Close", id="help.close")]

    def __init__(self, rows: list[tuple[str, str, str]] | None = None, keys_source: str | None = None) -> None:
        super().__init__()
        self.rows = rows or []
        self.keys_source = keys_source
        self._shown: tuple[object, ...] = ()  # rows, keys source and width of _laid_out
        self._laid_out: LaidOut | None = None

    @property
    def drill_keys(self) -> str:
        return " and ".join(key for key, _, binding_id in self.rows if binding_id in ("demote", "failover"))

    def text(self) -> Group:
        table = Table(box=None, padding=(0, 2, 0, 0), expand=True, show_edge=False)
        table.add_column("Key", style="bold cyan", no_wrap=True)
        table.add_column("Binding id", style="dim", no_wrap=True)
        table.add_column("What it does", ratio=1)
        for key, description, binding_id in self.rows:
            table.add_row(key, binding_id, description)
        text = Text("\nRemap keys with --keys FILE (or $VRRPTUI_KEYS): one `binding_id = key` a line, "
                    "e.g. `demote = x`; dialogs: dialog.cancel, help.close.", style="dim")
        if self.keys_source:
            text.append(f"\nKeys from {self.keys_source}.", style="bold")
        if self.drill_keys:
            text.append(f"\n\n{self.drill_keys} start a failover drill: the Drills pane shows its timings. "
                        "Missed (x): the "
                        "adverts the old master owed from its last advert to the new master's first (none after "
                        "a priority-0 advert), one per interval once half an interval late: the timeline's x marks.",
                        style="dim")
        return Group(Text("Keys\n", style="bold"), table, text)

    def lines(self) -> LaidOut:
        """text() laid out for the box's width once: the screen's layout and frames then take its lines
        as they are (a table is measured and laid out again at each)."""
        options = self.app.console_options.update(highlight=False, width=self._width)
        return LaidOut(self.app.console.render_lines(self.text(), options, pad=False))

    @property
    def _width(self) -> int:
        return min(HELP_WIDTH, self.app.size.width) - HELP_FRAME

    def laid_out(self) -> LaidOut:
        """The text for the keys and the terminal's width now, laid out again only if one changed."""
        shown = (self.rows, self.keys_source, self._width)
        if self._laid_out is None or shown != self._shown:
            self._shown, self._laid_out = shown, self.lines()
        return self._laid_out

    def compose(self) -> ComposeResult:
        with Vertical(id="help"):
            yield Static(self.laid_out(), id="help-text")

    def show_rows(self, rows: list[tuple[str, str, str]], keys_source: str | None) -> None:
        """The keys as they are now, for the terminal's width now (laid out ahead of the first press too)."""
        self.rows, self.keys_source = rows, keys_source
        before = self._laid_out
        if self.laid_out() is not before and self.is_mounted:
            self.query_one("#help-text", Static).update(self.laid_out())

    def action_close(self) -> None:
        self.dismiss(None)
