"""`vrrptui replay FILE`: the console's panes driven by a capture at its recorded times.

The app is the sniff console (no engine) whose clock is the replay's (replay_player.py),
so "last seen", the timeline, the health verdicts and the History pane read as of the
recorded moment. Keys: k play / pause, > the next failover, + / - speed.
"""

from __future__ import annotations

from pathlib import Path

from textual.binding import Binding

from vrrptui.console.app import VrrpConsole
from vrrptui.console.replay_player import LEAD, ReplayPlayer
from vrrptui.observe.failovers import Failover
from vrrptui.records import Heard
from vrrptui.observe.history import iso_time
from vrrptui.records import Claim
from vrrptui.observe.session import Session

NO_PING_LOG = Path("/nonexistent/vrrptui-replay")  # the lab's live ping has no place in a replay


class ReplayConsole(VrrpConsole):
    PASSIVE_NOTE = ""  # the title says replay
    BINDINGS = [
        *VrrpConsole.BINDINGS,
        Binding("k", "replay_play", "Play/pause", id="replay_play", tooltip="Play or pause the replay"),
        Binding("greater_than_sign", "replay_next", "Next failover", id="replay_next",
                tooltip=f"Jump to {LEAD:g} s before the next failover and play"),
        Binding("plus", "replay_speed(1)", "Faster", id="replay_faster", tooltip="Play faster"),
        Binding("minus", "replay_speed(-1)", "Slower", id="replay_slower", tooltip="Play slower"),
    ]

    def __init__(self, player: ReplayPlayer, name: str, **kwargs) -> None:
        super().__init__(Session(None), player, title=f"replay {name}", clock=player.now, host=None,
                         lab_ping_path=NO_PING_LOG, **kwargs)
        self.player = player
        self.name_shown = name

    def refresh_slow(self, header: bool = True) -> None:
        self.session.probe_targets()  # the VIPs heard in adverts, so ARP / NA answers count for them
        super().refresh_slow(header)

    def refresh_header(self) -> None:
        p = self.player
        state = f"playing x{p.speed:g}" if p.playing else "paused"
        count = len(p.failovers)
        self.title_text = (f"replay {self.name_shown}  {state}  {iso_time(p.now())[:23]}  "
                           f"(until {iso_time(p.end)[11:23]}, {count} failover{'s' * (count != 1)})")
        super().refresh_header()

    def action_replay_play(self) -> None:
        self.notify("playing" if self.player.toggle() else "paused", timeout=2)

    def action_replay_next(self) -> None:
        at = self.player.next_failover()
        self.notify("no failover after this point" if at is None else
                    f"failover at {iso_time(at)[11:23]}: playing from {LEAD:g} s before", timeout=4)

    def action_replay_speed(self, step: int) -> None:
        self.notify(f"speed x{self.player.set_speed(step):g}", timeout=2)


def build_replay(name: str, records: list[Heard | Claim], failovers: list[Failover],
                 speed: float = 1.0) -> ReplayConsole:
    """The console for a capture (`name`: its path as given) read by vrrptui.replay.capture."""
    return ReplayConsole(ReplayPlayer(records, [f.at for f in failovers], speed), name)


def run_replay(name: str, records: list[Heard | Claim], failovers: list[Failover], speed: float = 1.0) -> int:
    app = build_replay(name, records, failovers, speed)
    try:
        return int(app.run() or 0)
    finally:
        app.shutdown_backend()
