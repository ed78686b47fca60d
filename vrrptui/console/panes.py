"""The console's panes. Each pane reads the Session and updates itself by key.

Tables are KeyedTables (vrrptui.console.keyed_table): a refresh re-renders only the cells
whose text changed.
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path
from typing import Any

from rich.cells import cell_len
from rich.text import Text
from textual.widgets import Static

from vrrptui.console.format import duration, interval, millis, size
from vrrptui.console.keyed_table import KeyedTable
from vrrptui.console.peer_detail import auth_shown
from vrrptui.console.timeline_pane import TimelinePane  # noqa: F401  (a pane; the app imports panes from here)
from vrrptui.engine.status import InstanceStatus
from vrrptui.observe.health import Code, Level
from vrrptui.records import HostStats, RouterKey
from vrrptui.observe.session import Session

STATE_STYLE = {"MASTER": "bold green", "BACKUP": "cyan", "FAULT": "bold red", "INIT": "dim"}
HEALTH_STYLE = {Level.OK: "green", Level.WARN: "bold yellow", Level.ALARM: "bold white on red"}
LAB_PING_LOG = Path("/run/vrrptui/lab/pc1-ping.log")


# --- header ---------------------------------------------------------------------------

class HeaderBar(Static):
    def show(self, title: str, stats: HostStats | None, notes: list[str],
             alarms: list[tuple[str, str]] | None = None) -> None:
        text = Text()
        text.append("vrrptui ", style="bold")
        text.append(title)
        if stats is not None:
            text.append(f"  host {stats.hostname}  cpu {stats.cpu_percent:.1f}%  mem {size(stats.rss_bytes)}",
                        style="dim")
        for note in notes:
            text.append(f"  [{note}]", style="yellow")
        if stats is not None and stats.warning:
            text.append("\n")
            text.append(f" WARNING: {stats.warning}: two VRRP daemons on one host fight over the VIPs ",
                        style="bold white on red")
        for line, style in alarms or ():  # history_pane.banner: health alarms, VIP split brain
            text.append("\n")
            text.append(f" {line} ", style=style)
        update_if_changed(self, text)


def update_if_changed(widget: Static, text: Text) -> None:
    """Static.update for a pane refreshed every tick: nothing when the text is the same, and a
    relayout of the screen only when its height may change (line count, or a line that wraps)."""
    old = widget.content if isinstance(widget.content, Text) else None
    if old is not None and old.plain == text.plain and old.spans == text.spans and old.style == text.style:
        return
    width = widget.content_region.width or 1
    fits = old is not None and all(cell_len(line) <= width for line in (old.plain + "\n" + text.plain).splitlines())
    same_height = old is not None and old.plain.count("\n") == text.plain.count("\n")
    widget.update(text, layout=not (fits and same_height))


# --- instances ------------------------------------------------------------------------

class InstancesPane(KeyedTable):
    COLUMNS = (
        ("name", "Instance"), ("if", "If"), ("vrid", "VRID"), ("ver", "Ver"), ("state", "State (for)"),
        ("health", "Health"), ("prio", "Prio cfg/eff"), ("master", "Master (prio)"), ("intvl", "Intvl (learned)"),
        ("down", "Master down"), ("vips", "VIPs here"),
    )

    def refresh_from(self, session: Session, now: float) -> None:
        statuses = session.statuses
        self.sync_lazily(list(statuses), lambda name: instance_cells(statuses[name], session, now))


PRIO_WIDTH = 24  # the Prio cell's most; the full reason is under `c`


def instance_cells(s: InstanceStatus, session: Session, now: float) -> tuple[Any, ...]:
    stale = session.engine_silent_for(now) is not None
    if stale and session.status_at is not None:  # never None when silent: typing only
        now = session.status_at  # as the engine last told it: times stop, they do not count on as if live
    prio = f"{s.configured_priority}/{s.effective_priority}"
    if s.held:
        prio += " [held]" if s.held == "priority" else f" [{s.held}]"
    if s.priority_reason:
        prio += f" {s.priority_reason}"
    if len(prio) > PRIO_WIDTH:
        prio = prio[:PRIO_WIDTH - 1] + "…"
    master = "-" if s.master_address is None else f"{s.master_address} ({s.master_priority})"
    if s.state == "MASTER":
        master = f"this host ({s.effective_priority})"
    learned = f" ({interval(s.learned_advert_int)})" if s.learned_advert_int not in (None, s.advert_int) else ""
    down = "-"
    if s.state == "BACKUP" and s.master_down_at is not None:
        down = f"{max(0.0, s.master_down_at - now):.2f}s/{s.master_down_interval:.3f}s"
    here, total, known = session.vips_local(s)
    if known is None:
        vips = Text(f"?/{total}", style="dim")
    else:
        expected = total if s.state == "MASTER" else 0
        vips = Text(f"{here}/{total}", style="green" if here == expected else "bold red")
    state = Text(s.state, style=STATE_STYLE.get(s.state, ""))
    state.append(f" {duration(now - s.state_since)}", style="dim")
    fam = f"v{s.version}/IPv{s.family}"
    verdict = session.alarms.verdict(RouterKey(s.interface, s.vrid, s.family)) if s.interface else None
    health = Text("-", style="dim") if verdict is None else Text(verdict.short, style=HEALTH_STYLE[verdict.level])
    if stale:
        state.stylize("dim")
        health = Text("engine silent", style=HEALTH_STYLE[Level.ALARM])
    # the engine still names the master it last accepted: struck through once the VRID has none (bug: frozen peer)
    gone = verdict is not None and verdict.code in (Code.NO_MASTER, Code.ALL_HELD) and s.state != "MASTER"
    return (s.name, s.interface or "-", str(s.vrid), fam, state, health, prio,
            Text(master, style="strike bold red") if gone else master,
            f"{interval(s.advert_int)}{learned}", down, vips)


def full_transition(s: InstanceStatus) -> str:
    return f"{s.last_transition} ({s.last_reason})" if s.last_transition else s.last_reason


def counters_text(s: InstanceStatus | None) -> Text:
    if s is None:
        return Text("no instance selected", style="dim")
    c = s.counters
    text = Text(f"{s.name}: ", style="bold")
    text.append(f"priority {s.configured_priority}/{s.effective_priority}")
    if s.priority_reason:
        text.append(f" ({s.priority_reason})")
    if s.held:
        text.append(f", held: {s.held} (r resumes)")
    if s.last_transition or s.last_reason:
        text.append(f"; last change {full_transition(s)}")
    text.append("\ncounters: ", style="bold")
    text.append(f"sent {c.adverts_sent}  received {c.adverts_received}  became master {c.became_master}  "
                f"released {c.released_master}  prio-0 sent {c.priority_zero_sent} / received "
                f"{c.priority_zero_received}  cksum forms pseudo {c.checksum_pseudo} / message {c.checksum_message}")
    drops = {k: v for k, v in c.drops.items() if v}
    text.append("  drops: " + (", ".join(f"{k} {v}" for k, v in sorted(drops.items())) or "none"),
                style="yellow" if drops else "")
    return text


# --- peers ----------------------------------------------------------------------------

class PeersPane(KeyedTable):
    """Every router heard; Enter opens its detail (vrrptui.console.peer_detail)."""

    COLUMNS = (
        ("if", "If"), ("vrid", "VRID"), ("src", "Source"), ("ver", "Ver"), ("prio", "Prio"), ("intvl", "Intvl"),
        ("auth", "Auth"), ("vips", "VIPs"), ("rate", "Adv/s"), ("seen", "Last seen"), ("flags", "Flags"),
    )

    def __init__(self, show_secrets: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.show_secrets = show_secrets

    def refresh_from(self, session: Session, now: float) -> None:
        rows = []
        for p in session.peers.peers(now):
            flags = Text()
            if p.split_brain:
                flags.append("SPLIT BRAIN ", style="bold white on red")
            if p.mismatches:
                flags.append("≠ " + ",".join(m.value for m in p.mismatches) + " ", style="bold yellow")
            if p.local:
                flags.append("self ", style="dim")
            elif p.master:
                flags.append("master ", style="green")
            if not p.configured:
                flags.append("not ours ", style="dim")
            src = p.src + (f" {p.src_mac}" if p.src_mac else "")
            rows.append((p.row_key, (
                p.key.ifname, str(p.key.vrid), src, "-" if p.version is None else f"v{p.version}",
                "-" if p.priority is None else str(p.priority), interval(p.interval),
                auth_shown(p.auth, self.show_secrets),
                " ".join(p.vips) or "-", f"{p.adverts_per_s:.1f}", f"{duration(now - p.last_seen)} ago", flags,
            )))
        self.sync(rows)


# --- timeline: vrrptui.console.timeline_pane (draws only the lines on screen) ------------

# --- VIP presence ---------------------------------------------------------------------

class VipPane(KeyedTable):
    COLUMNS = (("vip", "VIP"), ("if", "If"), ("local", "Local"), ("answers", "Answered by"), ("flags", "Flags"))

    def refresh_from(self, session: Session, now: float) -> None:
        rows = []
        for v in session.vip_view(now):
            local = Text("?", style="dim") if v.local is None else (
                Text("here", style="green") if v.local else Text("not here"))
            answers = ", ".join(f"{a.mac} ({a.owner or 'unknown'})" for a in v.answers) or "-"
            flags = Text(f"SPLIT BRAIN: {v.split_brain_why}", style="bold white on red") if v.split_brain else Text("")
            rows.append((v.row_key, (v.vip, v.ifname or "-", local, answers, flags)))
        self.sync(rows)


# --- drills ---------------------------------------------------------------------------

class DrillsPane(KeyedTable):
    COLUMNS = (
        ("started", "Started"), ("instance", "Instance"), ("action", "Action"), ("masters", "Old -> new master"),
        ("takeover", "Takeover (theory)"), ("vip", "VIP answered"), ("missed", "Missed (x)"),
        ("outage", "Client outage"), ("result", "Result"),
    )

    def refresh_from(self, session: Session, now: float) -> None:
        rows = []
        for d in list(session.drills) + list(session.drill_tracker.running):
            result = Text(d.result, style={"ok": "green", "incomplete": "bold red"}.get(d.result, "yellow"))
            rows.append((f"{d.instance}@{d.acted_at}", (
                d.started[11:19] if len(d.started) >= 19 else d.started, d.instance, d.action,
                f"{d.old_master or '?'} -> {d.new_master or '...'}",
                f"{millis(d.takeover_ms)} ({millis(d.theory_ms)})", millis(d.vip_ms),
                "-" if d.adverts_missed is None else str(d.adverts_missed), millis(d.client_outage_ms), result,
            )))
        self.sync(rows)


# --- advert log: vrrptui.console.logview --------------------------------------------


# --- lab client view ------------------------------------------------------------------

class LabPingPane(Static):
    """The lab client's ping (pc1 -> VIP), from the file the lab writes."""

    def __init__(self, path: Path = LAB_PING_LOG, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.path = path

    def refresh_from(self, lines: int = 6) -> None:
        try:
            with open(self.path, "rb") as f:
                f.seek(0, os.SEEK_END)
                f.seek(max(0, f.tell() - 4096))
                tail = f.read().decode("utf-8", "replace").splitlines()[-lines:]
        except OSError:
            self.display = False
            return
        self.display = True
        text = Text("lab client pc1 -> VIP\n", style="bold")
        for line in tail:
            bad = "no answer" in line or "unreachable" in line.lower() or "timeout" in line.lower()
            text.append(ping_line(line) + "\n", style="bold red" if bad else "")
        self.update(text)


_PING_RE = re.compile(r"^\[(?P<ts>\d+\.\d+)\] (?:.*icmp_seq=(?P<seq>\d+))?(?:.* time=(?P<rtt>[\d.]+ ms))?")


def ping_line(line: str) -> str:
    """`ping -D -O` output in the pane's width: "12:07:52.204 seq 97 0.064 ms" / "... seq 98 no answer"."""
    m = _PING_RE.match(line)
    if not m or not m["seq"]:
        return line
    ms = round(float(m["ts"]) * 1000)
    stamp = time.strftime("%H:%M:%S", time.localtime(ms // 1000)) + f".{ms % 1000:03d}"
    if m["rtt"]:
        what = m["rtt"]
    elif "no answer" in line:
        what = "no answer"
    else:
        what = "unreachable" if "unreachable" in line.lower() else line.split("icmp_seq=", 1)[1].split(" ", 1)[-1]
    return f"{stamp} seq {m['seq']} {what}"
