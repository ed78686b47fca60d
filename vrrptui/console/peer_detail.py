"""Enter on a Peers row: that router in full (MAC, state history, advert-interval jitter, last adverts).

Passwords are masked (`pass:****`) unless the console runs with --show-secrets.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import Static

from vrrptui.console.dimmed import DimmedModal
from vrrptui.console.format import interval
from vrrptui.observe.peers import PeerDetail
from vrrptui.observe.session import Session
from vrrptui.protocol.packet import AUTH_PASS, Advert

MASK = "****"


def auth_shown(auth: str, show_secrets: bool) -> str:
    """The Auth cell: "pass:secret" unless secrets are hidden ("pass:****")."""
    return auth if show_secrets or not auth.startswith("pass:") else f"pass:{MASK}"


def clock_text(wall: float) -> str:
    ms = round(wall * 1000)
    return time.strftime("%H:%M:%S", time.localtime(ms // 1000)) + f".{ms % 1000:03d}"


def advert_text(a: Advert, show_secrets: bool) -> str:
    text = f"v{a.version} prio {a.priority} intvl {interval(a.max_advert_int)} VIPs " + (
        " ".join(map(str, a.addresses)) or "-")
    if a.version == 2 and a.auth_type == AUTH_PASS:
        text += f" auth pass:{a.auth_pass if show_secrets else MASK}"
    return text


def detail_text(d: PeerDetail, wall: Callable[[float], float], now: float, show_secrets: bool) -> Text:
    p = d.peer
    out = Text()
    out.append(f"{p.src}", style="bold")
    out.append(f"  {p.key}\n")
    out.append("MAC ", style="bold")
    out.append(p.src_mac or "unknown (heard on the engine's socket: no link-layer header)")
    out.append("\nnow ", style="bold")
    role = "master" if p.master else "backup"
    if p.split_brain:
        role = "SPLIT BRAIN (master beside another)"
    priority = "-" if p.priority is None else p.priority
    out.append(f"{role}, priority {priority}, auth {auth_shown(p.auth, show_secrets)}, {p.adverts} adverts "
               f"({p.adverts_per_s:.1f}/s), last {now - p.last_seen:.1f}s ago\n")
    if p.mismatches:
        out.append("differs from ours: " + ", ".join(m.value for m in p.mismatches) + "\n", style="bold yellow")
    out.append("\nAdvert interval", style="bold")
    stats = d.intervals
    if stats is None:
        out.append(": fewer than two adverts heard yet\n")
    else:
        advertised = f"advertised {interval(p.interval)}; " if p.interval is not None else ""
        out.append(f" ({advertised}last {stats.count} gaps): mean {stats.mean * 1000:.1f} ms, "
                   f"min {stats.low * 1000:.1f}, max {stats.high * 1000:.1f}, jitter (std dev) "
                   f"{stats.jitter * 1000:.1f} ms\n")
    out.append("\nState history", style="bold")
    out.append(" (as heard on the wire)\n")
    for at, what in d.history:
        out.append(f"  {clock_text(wall(at))}  {what}\n")
    out.append("\nLast adverts\n", style="bold")
    for at, advert in reversed(d.last_adverts):
        out.append(f"  {clock_text(wall(at))}  {advert_text(advert, show_secrets)}\n")
    return out


class PeerDetailScreen(DimmedModal[None]):
    """Refreshed every second while open; Escape or Enter closes it."""

    DEFAULT_CSS = """
    PeerDetailScreen { align: center middle; }
    PeerDetailScreen > #peer-detail { width: 110; max-width: 100%; height: auto; max-height: 90%;
                                      border: thick $accent; background: $surface; padding: 0 1; }
    """
    BINDINGS = [Binding("escape,enter", "close", "Close", id="detail.close")]

    def __init__(self, session: Session, row_key: str, clock: Callable[[], float], show_secrets: bool) -> None:
        super().__init__()
        self.session = session
        self.row_key = row_key
        self.clock = clock
        self.show_secrets = show_secrets

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="peer-detail"):
            yield Static(id="peer-detail-text")

    def on_mount(self) -> None:
        self.query_one("#peer-detail").border_title = "Peer (Enter or Escape closes)"
        self.refresh_detail()
        self.set_interval(1.0, self.refresh_detail)

    def refresh_detail(self) -> None:
        now = self.clock()
        detail = self.session.peers.detail(self.row_key, now)
        text = (detail_text(detail, self.session.wall, now, self.show_secrets) if detail is not None
                else Text("this router has not been heard for 10 minutes: forgotten", style="dim"))
        self.query_one("#peer-detail-text", Static).update(text)

    def action_close(self) -> None:
        self.dismiss(None)
