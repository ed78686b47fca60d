"""Safe keys: quitting a master, demote and failover say what will happen and wait for y or Enter.

`--yes` skips the question (scripted drills). What is said comes from what the console
knows: the instance's state, its VIPs, and the best other router heard for its VRID.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import Static

from vrrptui.console.dimmed import DimmedModal
from vrrptui.engine.status import InstanceStatus
from vrrptui.observe.session import Session
from vrrptui.records import RouterKey

CONFIRM_CSS = """
ConfirmDialog { align: center middle; }
ConfirmDialog > #confirm { width: 80; max-width: 100%; height: auto; border: thick $warning; background: $surface;
                           padding: 1 2; }
ConfirmDialog #confirm-keys { color: $text-muted; margin-top: 1; }
"""


class ConfirmDialog(DimmedModal[bool]):
    """What the key will do; y or Enter goes ahead, Escape (or n) leaves everything as it is."""

    DEFAULT_CSS = CONFIRM_CSS
    BINDINGS = [
        Binding("y,enter", "answer(True)", "Yes", id="confirm.yes"),
        Binding("escape,n", "answer(False)", "Cancel", id="dialog.cancel"),
    ]

    def __init__(self, title: str, consequences: list[str]) -> None:
        super().__init__()
        self.title_text = title
        self.consequences = consequences

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm"):
            yield Static(Text(self.title_text, style="bold"))
            for line in self.consequences:
                yield Static(line)  # wraps at 80 columns (a Label would cut an address short)
            yield Static("y or Enter: go ahead    Escape: cancel", id="confirm-keys")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)


QUIT_TITLE = "Quit vrrptui?"


class SafeKeys:
    """Mixed into the console app: ask before a key moves VIPs, unless --yes (`assume_yes`)."""

    def confirm(self: Any, title: str, consequences: list[str], then: Callable[[], None]) -> None:
        """`then()` at once with --yes or when nothing would move; else after y or Enter."""
        if self.assume_yes or not consequences:
            then()
            return
        self.push_screen(ConfirmDialog(title, consequences), lambda yes: then() if yes else None)

    def action_quit(self: Any) -> None:
        """q / ctrl+c: asks first on a master (ctrl+c twice goes ahead); SIGTERM never asks (quit_now)."""
        if isinstance(self.screen, ConfirmDialog) and self.screen.title_text == QUIT_TITLE:
            self.quit_now()
            return
        lines = quit_consequences(list(self.session.statuses.values()), self.session, self.clock())
        self.confirm(QUIT_TITLE, lines, self.quit_now)


def vips_text(s: InstanceStatus) -> str:
    return ", ".join(v.split("/")[0] for v in s.vips) or "no VIP"


def best_backup(s: InstanceStatus, session: Session, now: float) -> str | None:
    """The other router most likely to take over: the highest priority heard for the VRID, not us."""
    if s.interface is None:
        return None
    key = RouterKey(s.interface, s.vrid, s.family)
    others = [p for p in session.peers.peers(now) if p.key == key and not p.local and p.src != s.primary_address
              and p.priority]
    if not others:
        return None
    return max(others, key=lambda p: (p.priority or 0, p.last_seen)).src


def _handover(s: InstanceStatus, session: Session, now: float) -> str:
    backup = best_backup(s, session, now)
    if backup is None:
        return f"no other router heard for VRID {s.vrid}: {vips_text(s)} will have no router"
    return f"{backup} takes {vips_text(s)}"


def quit_consequences(statuses: list[InstanceStatus], session: Session, now: float) -> list[str]:
    """One line per instance this router is MASTER for; empty: quitting moves nothing."""
    return [f"this router is MASTER for {s.name}: quitting hands {vips_text(s)} to "
            f"{best_backup(s, session, now) or 'no other router heard (the VIPs go away)'}"
            for s in statuses if s.state == "MASTER"]


def demote_consequences(s: InstanceStatus, session: Session, now: float) -> list[str]:
    if s.state == "MASTER":
        return [f"{s.name} is MASTER: demote sends priority 0 and {_handover(s, session, now)} at once",
                f"{s.name} is then held as backup (priority 0) until r"]
    return [f"{s.name} is {s.state}: demote holds it at priority 0 until r; it will not take over "
            f"{vips_text(s)} even if the master fails"]


def failover_consequences(s: InstanceStatus, session: Session, now: float) -> list[str]:
    if s.state == "MASTER":
        return [f"{s.name} is MASTER: failover goes silent as if this router died (no priority 0)",
                f"after Master_Down_Interval ({s.master_down_interval:.2f} s) {_handover(s, session, now)}; "
                "clients lose the VIP meanwhile"]
    master = s.master_address or "the current master"
    return [f"{s.name} is {s.state}: failover takes {vips_text(s)} over from {master} now"]
