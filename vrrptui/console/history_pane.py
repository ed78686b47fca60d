"""The History pane, the alarm banner, and the event history's files (load, append, export).

The Session records events (vrrptui.observe.history) and verdicts (vrrptui.observe.health);
`HistoryFiles` appends the new events to `events.jsonl` once a tick and loads the last ones
at start-up; `e` exports the history to CSV and JSON Lines beside it.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from pathlib import Path

from rich.text import Text
from textual.notifications import SeverityLevel

from vrrptui.console.keyed_table import KeyedTable
from vrrptui.console.panes import HEALTH_STYLE
from vrrptui.console.statefiles import StateDir
from vrrptui.observe.health import Code, Level
from vrrptui.observe.history import HistoryEvent, parse_events, to_csv, to_jsonl
from vrrptui.observe.session import Session

EVENTS_FILE = "events.jsonl"
DRILLS_FILE = "drills.jsonl"
SHOWN = 500  # rows in the History pane (newest first); the file keeps every event
BANNER_LINES = 3  # alarm lines in the header at most
KIND_STYLE = {"alarm": "bold white on red", "cleared": "green", "missed": "yellow", "master": "bold",
              "transition": "cyan", "operator": "magenta", "drill": "bold cyan"}


class HistoryFiles:
    """events.jsonl of one config (or sniffed interface), never written through a symlink."""

    def __init__(self, directory: StateDir, session: Session) -> None:
        """Loads the last events of earlier runs into `session`."""
        self.directory = directory
        self.error: str | None = None
        try:
            session.history.load(parse_events(self.directory.tail(EVENTS_FILE, session.history.events.maxlen or SHOWN)))
        except OSError as exc:
            self.error = f"cannot read {self.directory.path / EVENTS_FILE}: {exc.strerror}"

    def save(self, session: Session) -> None:
        events = session.history.take_pending()
        if not events:
            return
        try:
            self.directory.append(EVENTS_FILE, to_jsonl(events).splitlines())
            self.error = None
        except OSError as exc:
            self.error = f"cannot append to {self.directory.path / EVENTS_FILE}: {exc.strerror}"

    def export(self, session: Session, wall: float | None = None) -> list[Path]:
        """The history shown (this run and the earlier ones loaded) as CSV and JSON Lines; their paths."""
        events = list(session.history.events)
        stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(time.time() if wall is None else wall))
        return [self.directory.write_new(f"events-{stamp}.csv", to_csv(events)),
                self.directory.write_new(f"events-{stamp}.jsonl", to_jsonl(events))]


def export_history(files: HistoryFiles | None, session: Session) -> tuple[str, SeverityLevel]:
    """`e`: (what to tell the operator, severity)."""
    if files is None:
        return "the event history is kept in memory only here: nothing to export to", "warning"
    try:
        paths = files.export(session)
    except OSError as exc:
        return f"cannot export the event history: {exc.strerror}", "error"
    return "event history written to " + " and ".join(map(str, paths)), "information"


def lab_ping_lines(path: Path, size: int = 65536) -> list[str]:
    """The end of the lab client's ping log (about the last 3 minutes at 5 pings/s); [] without a lab."""
    try:
        with open(path, "rb") as f:
            f.seek(max(0, f.seek(0, os.SEEK_END) - size))
            return f.read().decode("utf-8", "replace").splitlines()[1:]
    except OSError:
        return []


class HistoryPane(KeyedTable):
    COLUMNS = (("time", "Time"), ("kind", "Event"), ("scope", "Router"), ("text", "What happened"))

    def refresh_from(self, session: Session, now: float) -> None:
        events = list(session.history.events)[-SHOWN:]
        rows = []
        for i, e in enumerate(reversed(events)):
            rows.append((f"{e.wall:.6f}/{len(events) - i}", (
                _stamp(e), Text(e.kind, style=KIND_STYLE.get(e.kind, "")), e.scope, e.text)))
        self.sync(rows)


def _stamp(e: HistoryEvent) -> str:
    ms = round(e.wall * 1000)
    return time.strftime("%m-%d %H:%M:%S", time.localtime(ms // 1000)) + f".{ms % 1000:03d}"


def banner(session: Session, now: float) -> list[tuple[str, str]]:
    """(line, style) for the header: every active alarm and every VIP split brain, worst first; past
    BANNER_LINES the last line counts the others (255 silent VRIDs must not push the panes off screen).
    A master late by a few adverts is in the Health column only: it turns into NO MASTER or a new
    master within a Master_Down_Interval, and a banner for each hiccup made the header jump."""
    out = [(f"{v.scope}: {v.text}", HEALTH_STYLE[v.level], v.short) for v in session.alarms.active()
           if v.code is not Code.MASTER_SILENT]
    silent = session.engine_silent_for(now)
    if silent is not None:
        out.insert(0, (f"ENGINE NOT RESPONDING: no status from it for {silent:.0f} s; the states shown are from "
                       f"then (its process stopped or hung?)", HEALTH_STYLE[Level.ALARM], "engine silent"))
    for v in session.vip_view(now):
        if v.split_brain and v.local:  # we hold it: only the other owner is ever heard
            others = session.vips.split_brain(v.vip)
            out.append((f"SPLIT BRAIN: VIP {v.vip} is here and also answered by {', '.join(others)}",
                        HEALTH_STYLE[Level.ALARM], "VIP split brain"))
        elif v.split_brain:
            out.append((f"SPLIT BRAIN: VIP {v.vip} answered by {', '.join(a.mac for a in v.answers)}",
                        HEALTH_STYLE[Level.ALARM], "VIP split brain"))
    if len(out) > BANNER_LINES:
        rest = out[BANNER_LINES - 1:]
        kinds = ", ".join(f"{kind} x{n}" for kind, n in Counter(kind for _, _, kind in rest).items())
        out[BANNER_LINES - 1:] = [(f"{len(rest)} more: {kinds} (Health column, History pane)", rest[0][1], "")]
    return [(line, style) for line, style, _ in out]
