"""The Textual console of `vrrptui CONF` and `vrrptui sniff IFACE` (started by vrrptui.console.cli).

The VRRP runtime runs in a process of its own (RuntimeBackend, vrrptui.daemon.worker), so
rendering never delays the engine; a thread worker relays its batches to the observer,
which only appends to an inbox and posts one coalesced `Observed` message; the app drains
the inbox on its own thread and feeds the sans-I/O Session, which the panes read on a timer.
"""

from __future__ import annotations

import asyncio
import dataclasses
import gc
import os
import signal
import threading
import time
from collections import deque
from functools import partial
from pathlib import Path
from typing import Any, TypeVar
from collections.abc import Callable, Iterable, Iterator

from textual import events
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.message import Message
from textual.notifications import SeverityLevel
from textual.screen import Screen
from textual.widgets import DataTable, Static, TabbedContent, TabPane

from vrrptui import safefiles
from vrrptui.console.backends import Backend, NullBackend
from vrrptui.console.history_pane import lab_ping_lines, HistoryFiles, HistoryPane, banner, export_history
from vrrptui.console.panes import (
    LAB_PING_LOG, DrillsPane, HeaderBar, InstancesPane, LabPingPane, PeersPane, TimelinePane, VipPane,
    counters_text,
)
from vrrptui.console.confirm import ConfirmDialog, SafeKeys, demote_consequences, failover_consequences
from vrrptui.console.keys import binding_ids
from vrrptui.console.layout import CONSOLE_CSS, ConsoleFooter, adapt
from vrrptui.console.logview import LogView
from vrrptui.console.navigation import NAVIGATION_BINDINGS, Navigation
from vrrptui.console.peer_detail import PeerDetailScreen
from vrrptui.console.screens import FilterDialog, HelpScreen, PriorityDialog, SearchDialog
from vrrptui.console.statefiles import state_root
from vrrptui.engine.commands import Command, Demote, Failover, Resume, SetPriority
from vrrptui.engine.status import InstanceStatus
from vrrptui.observe.drills import DEMOTE, FAILOVER
from vrrptui.observe.session import Session
from vrrptui.protocol.pcap import LINKTYPE_RAW, write_pcap
from vrrptui.records import HostStats

DialogT = TypeVar("DialogT", HelpScreen, PriorityDialog)

# Python's default (700, 10, 10): a young collection every 700 allocations, a middle one every 10 of
# those, a full one every 10 middle ones. At 2,550 adverts/s status snapshots and batches (alive
# ~0.1 s) aged into the oldest generation, and full collections (tens of ms with the UI thread
# stopped) came about once a second. With these, young collections (about a ms) still run as objects
# are allocated, but the middle (5-35 ms at that load) and full ones never start on their own, in the
# middle of a key press or its frame (rendering allocates a lot): they are steps of the timer's tick,
# which lets keys go first (_tick_steps): a middle one every tick, a full one every FULL_GC_EVERY ticks.
GC_THRESHOLDS = (2000, 1_000_000, 1_000_000)
FULL_GC_EVERY = 120  # ticks (a minute at the 0.5 s tick)
INBOX_LIMIT = 100_000  # observations waiting for the UI; beyond this the oldest are dropped, never the engine slowed
PANES_EVERY = 2  # timer ticks per full refresh (1 s at the 0.5 s tick): countdowns, timeline, header, alarms
SLOW_EVERY = 1.0  # seconds between samples of the host, the lab client's pings and the prober's targets
LOG_BUSY = 200  # log entries waiting that make the log catch up at every tick, not only with the panes
LOG_STEP = 100  # log entries formatted per step of the timer's refresh (~3 ms at 2,550 adverts/s)
KEYS_FIRST = 0.15  # s after a key during which the timer's refresh waits, so that the key's frame comes first
FEED_STEP = 100  # observations fed to the session per step (~3 ms at 2,550 adverts/s)
FEED_WAIT_MAX = 1000  # observations that may wait for a key's frame (0.4 s at 2,550 adverts/s)
STUCK_EXIT_AFTER = 10.0  # s after SIGTERM before the process ends without its terminal (_exit_if_stuck)
KEYS_WAIT_MAX = 0.25  # s a tick waits for keys at most (a held key must not freeze the panes)


@dataclasses.dataclass(frozen=True)
class Notice:
    """A message for the operator from another thread (a command the engine refused...)."""

    text: str
    severity: SeverityLevel = "information"


class Observed(Message):
    """Observations are waiting in the inbox. At most one is pending; a newer one replaces it."""

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, Observed)


class VrrpConsole(SafeKeys, Navigation, App[int]):  # type: ignore[misc]  # SafeKeys.action_quit is sync
    TITLE = "vrrptui"
    CSS = CONSOLE_CSS
    ALLOW_IN_MAXIMIZED_VIEW = "HeaderBar, Footer"  # a zoomed pane keeps the alarms and the keys
    # q and ? first: the footer is cut at the right on narrow terminals, and they must always show
    BINDINGS = [
        Binding("q", "quit", "Quit", id="quit", tooltip="Quit: resign (priority 0) and remove the VIPs"),
        Binding("question_mark", "help", "Help", id="help", tooltip="Keys and what they do"),
        Binding("p", "priority", "Priority", id="priority", tooltip="Set the selected instance's priority (1-254)"),
        Binding("d", "demote", "Demote", id="demote",
                tooltip="Hand over gracefully (priority 0) and hold as backup; starts a drill"),
        Binding("f", "failover", "Failover", id="failover",
                tooltip="Master: go silent as if dead. Backup: take over. Starts a drill"),
        Binding("r", "resume", "Resume", id="resume", tooltip="Configured priority and normal behaviour again"),
        Binding("c", "counters", "Counters", id="counters", tooltip="Show the selected instance's counters"),
        Binding("slash", "filter", "Filter", id="filter", tooltip="Filter the advert log by VRID or source"),
        Binding("space", "pause", "Pause log", id="pause", tooltip="Pause / follow the advert log (End follows too)"),
        Binding("w", "write_pcap", "Write pcap", id="write_pcap", tooltip="Write the captured packets to a pcap file"),
        Binding("e", "export_history", "Export", id="export_history", tooltip="Export the event history (CSV, JSONL)"),
        Binding("ctrl+c", "quit", "Quit", id="quit_ctrl_c", show=False, priority=True),
        *NAVIGATION_BINDINGS,
    ]
    PASSIVE_NOTE = "  (sniff: passive, no engine)"  # the header's note without an engine
    ENGINE_ACTIONS = {"priority", "demote", "failover", "resume", "counters"}

    def __init__(
        self,
        session: Session,
        backend: Backend,
        *,
        title: str = "",
        clock: Callable[[], float] = time.monotonic,
        host: Any = None,
        prober_factory: Callable[[Callable[[list[Any]], None]], Any] | None = None,
        lab_ping_path: Path = LAB_PING_LOG,
        pcap_dir: Path | None = None,
        refresh_every: float = 0.5,
        timers: bool = True,
        start_backend: bool = True,
        keymap: dict[str, str] | None = None,
        keys_source: str | None = None,
        assume_yes: bool = False,
        show_secrets: bool = False,
        files: HistoryFiles | None = None,
    ) -> None:
        super().__init__()
        self.files = files  # the event history's files (None: kept in memory only)
        self.session = session
        self.backend = backend
        self.title_text = title
        self.clock = clock
        self.host = host
        self.prober_factory = prober_factory
        self.prober: Any = None
        self.lab_ping_path = lab_ping_path
        self.pcap_dir = pcap_dir or state_root() / "vrrptui" / "pcaps"
        self.refresh_every = refresh_every
        self.timers = timers
        self.start_backend = start_backend
        self.host_stats: HostStats | None = None
        self._sampling = False  # the host is being sampled in a thread (with timers)
        self.inbox_dropped = 0
        self._inbox: deque[Any] = deque()
        self._inbox_lock = threading.Lock()
        self._posted = False
        self._ticks = 0
        self._key_at = -1e9  # monotonic time of the last key (or click): the timer's refresh lets it go first
        self._stopping = False
        self.failure: str | None = None
        self.keys_source = keys_source  # where the keymap came from, for the help screen
        self.assume_yes = assume_yes  # --yes: q, d and f act without asking
        self.show_secrets = show_secrets  # --show-secrets: VRRPv2 passwords in clear in Peers
        if keymap:
            self.set_keymap(keymap)

    # --- layout ---------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield HeaderBar(id="header")
        if self.backend.engine:
            yield InstancesPane(id="instances")
            yield Static(id="counters")
        with Horizontal(id="middle"):
            with VerticalScroll(id="timeline-scroll"):
                yield TimelinePane(id="timeline")
            yield LabPingPane(self.lab_ping_path, id="labping")
        with TabbedContent(id="tabs"):
            with TabPane("Advert log", id="tab-log"):
                yield LogView(self.session, id="logview")
            with TabPane("Peers", id="tab-peers"):
                yield PeersPane(self.show_secrets, id="peers")
            with TabPane("VIP presence", id="tab-vips"):
                yield VipPane(id="vips")
            with TabPane("Drills", id="tab-drills"):
                yield DrillsPane(id="drills")
            with TabPane("History", id="tab-history"):
                yield HistoryPane(id="history")
        yield ConsoleFooter()

    def on_resize(self, event: events.Resize) -> None:
        adapt(self, event.size)

    def on_mount(self) -> None:
        adapt(self, self.size)
        self.query_one("#timeline-scroll").border_title = "Timeline (last minute)"
        if self.start_backend:
            self.run_worker(partial(self.backend.run, self.observer), thread=True, name="vrrp-engine",
                            group="backend", exit_on_error=False)
        if self.prober_factory is not None:
            self.prober = self.prober_factory(self.observer)
            self.prober.start()
        self._catch_sigterm()
        if self.timers:
            self.set_interval(self.refresh_every, self._timer_tick)
            self.set_timer(3.0, self._settle)
        self.refresh_slow()
        self.refresh_panes()

    def _settle(self) -> None:
        """Once started: the help text laid out ahead of the first `?`, then all built so far frozen."""
        self.prepare_help()
        self._freeze_startup_objects()

    @staticmethod
    def _freeze_startup_objects() -> None:
        # Python's full collections walk every tracked object with the GIL held: keep what start-up
        # built (textual, widgets, config) out of them so only per-packet objects are scanned, and
        # leave the middle and full collections to the timer's tick (GC_THRESHOLDS).
        gc.collect()
        gc.freeze()
        gc.set_threshold(*GC_THRESHOLDS)

    # --- observations (any thread) ----------------------------------------------------

    def observer(self, batch: Iterable[Any]) -> None:
        """Called by the runtime / sniffer / prober on their threads. Never blocks, never touches widgets."""
        with self._inbox_lock:
            self._inbox.extend(batch)
            overflow = len(self._inbox) - INBOX_LIMIT
            if overflow > 0:
                for _ in range(overflow):
                    self._inbox.popleft()
                self.inbox_dropped += overflow
            if self._posted:
                return
            self._posted = True
        self.post_message(Observed())

    def observe(self, items: Iterable[Any]) -> None:
        """Tests and screenshots: feed observations synchronously on the app's thread."""
        self._apply(list(items))

    def on_observed(self, _message: Observed) -> None:
        """Feed the session FEED_STEP observations at a time, each step a turn of the event loop of its
        own, so that a key and its frame go in between. While a key's frame is due (KEYS_FIRST) the
        inbox waits, up to FEED_WAIT_MAX observations (a held key must not stop the feed)."""
        wait = KEYS_FIRST - (time.monotonic() - self._key_at)
        if wait > 0 and len(self._inbox) < FEED_WAIT_MAX:
            self.set_timer(wait, self._post_observed, name="feed after the key")
            return
        self._feed(FEED_STEP)
        if self._posted:
            asyncio.get_running_loop().call_soon(self._post_observed)

    def _feed(self, most: int) -> None:
        with self._inbox_lock:
            items = [self._inbox.popleft() for _ in range(min(len(self._inbox), most))]
            self._posted = self._posted and bool(self._inbox)
        if items:
            self._apply(items)

    def _post_observed(self) -> None:
        self.post_message(Observed())

    def _apply(self, items: list[Any]) -> None:
        notices = [i for i in items if isinstance(i, Notice)]
        self.session.feed([i for i in items if not isinstance(i, Notice)], self.clock())
        for n in notices:
            self.notify(n.text, severity=n.severity, timeout=8)

    # --- rendering ------------------------------------------------------------------

    def _visible(self, tab: str) -> bool:
        try:
            return self.query_one("#tabs", TabbedContent).active == tab
        except Exception:
            return False

    def write_log(self) -> None:
        for _ in self._log_steps():
            pass

    def _log_steps(self) -> Iterator[None]:
        if self._visible("tab-log"):
            view = self.query_one(LogView)
            while view.tick(LOG_STEP):
                yield

    def _tick(self) -> None:
        """One tick of the timer at once, in one frame (tests)."""
        with self.batch_update():
            for _ in self._tick_steps():
                pass

    async def _timer_tick(self) -> None:
        """The timer's tick in steps of a few ms, keys first: after each step the loop runs what is
        waiting, and while a key pressed in the last KEYS_FIRST s is being shown the rest waits
        (KEYS_WAIT_MAX at most). A tick done in one go held a key for its whole length and its frame."""
        deadline = time.monotonic() + KEYS_WAIT_MAX
        await self._keys_shown(deadline)
        for _ in self._tick_steps():
            await asyncio.sleep(0)
            await self._keys_shown(deadline)

    async def _keys_shown(self, deadline: float) -> None:
        """Wait while a key pressed in the last KEYS_FIRST s is being shown, until `deadline` at most."""
        while time.monotonic() - self._key_at < KEYS_FIRST and time.monotonic() < deadline:
            await asyncio.sleep(0.01)

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, events.Key | events.MouseDown):
            self._key_at = time.monotonic()
        await super().on_event(event)

    def _tick_steps(self) -> Iterator[None]:
        """Every PANES_EVERY ticks all panes: at 1 s a missed advert at 1 s still shows as a countdown
        a whole second lower, and a quiet console paints once a second. In between only a busy advert
        log catches up (thousands of adverts a second)."""
        self._ticks += 1
        panes = self._ticks % PANES_EVERY == 0
        slow = self._ticks % max(1, round(SLOW_EVERY / self.refresh_every)) == 0
        if slow:
            self.refresh_slow(header=not panes)
            yield
        if panes:
            yield from self._pane_steps()
        elif self._visible("tab-log") and self.query_one(LogView).backlog() >= LOG_BUSY:
            yield from self._log_steps()
        yield
        gc.collect(2 if self._ticks % FULL_GC_EVERY == 0 else 1)  # see GC_THRESHOLDS

    def _behind_modal(self) -> bool:
        return isinstance(self.screen, Screen) and self.screen is not self.screen_stack[0]

    def refresh_panes(self) -> None:
        with self.batch_update():
            for _ in self._pane_steps():
                pass

    def _pane_steps(self) -> Iterator[None]:
        """refresh_panes in steps of a few ms (the timer runs keys in between); none behind a dialog."""
        self._feed(INBOX_LIMIT)  # all that came: the verdicts below judge silences up to `now`
        now = self.clock()
        for drill in self.session.tick(now, client_lines=partial(lab_ping_lines, self.lab_ping_path)):
            self.notify(f"drill {drill.action} {drill.instance}: {drill.result}, takeover "
                        f"{drill.takeover_ms if drill.takeover_ms is not None else '-'} ms, VIP "
                        f"{drill.vip_ms if drill.vip_ms is not None else '-'} ms",
                        severity="information" if drill.result == "ok" else "warning", timeout=10)
        if self.files is not None:
            self.files.save(self.session)
        if self._behind_modal():
            return  # behind a modal: nothing to see, nothing to render (dolphie)
        yield
        yield from self._log_steps()  # once a tick, not per batch of observations
        if self._behind_modal():
            return
        if self.backend.engine:
            self.query_one("#instances", InstancesPane).refresh_from(self.session, now)
            counters = self.query_one("#counters", Static)
            if counters.display:
                counters.update(counters_text(self.selected_status()))
            yield
            if self._behind_modal():
                return
        self.query_one("#timeline", TimelinePane).refresh_from(self.session, now)
        if self._visible("tab-vips"):
            self.query_one("#vips", VipPane).refresh_from(self.session, now)
        if self._visible("tab-peers"):
            self.query_one("#peers", PeersPane).refresh_from(self.session, now)
        if self._visible("tab-drills"):
            self.query_one("#drills", DrillsPane).refresh_from(self.session, now)
        if self._visible("tab-history"):
            self.query_one("#history", HistoryPane).refresh_from(self.session, now)
        yield
        if not self._behind_modal():
            self.refresh_header()

    def refresh_slow(self, header: bool = True) -> None:
        """Once a second: the host's figures, the lab client's pings, the prober's targets."""
        if self.host is not None and (not self.timers or not self.host.scan_due):
            self.host_stats = self.host.sample()
        elif self.host is not None and not self._sampling:
            self._sampling = True
            self.run_worker(self._sample_host, thread=True, group="host", exit_on_error=False)
        self.query_one("#labping", LabPingPane).refresh_from()
        if self.prober is not None:
            self.prober.set_vips(self.session.probe_targets())
            self.session.own_macs = set(self.prober.own_macs)
            self.session.vips.own_macs = set(self.prober.own_macs)
        if header:
            self.refresh_header()
        error = getattr(self.backend, "error", None)
        if error is not None and not self._stopping:
            self.failure = f"{type(error).__name__}: {error}"
            self.exit(1)

    def _sample_host(self) -> None:
        """A thread for the samples that scan every process (psutil reads /proc, 10-20 ms every 15 s),
        never on the UI's loop; the header shows the newest sample."""
        try:
            self.host_stats = self.host.sample()
        finally:
            self._sampling = False

    def refresh_header(self) -> None:
        notes = []
        dropped = self.inbox_dropped + getattr(self.backend, "dropped_items", 0)  # here, and in the engine's process
        if dropped:
            notes.append(f"{dropped} observations dropped (UI too slow)")
        notes.extend(self.session.drill_errors[-1:] + ([self.files.error] if self.files and self.files.error else []))
        title = self.title_text + ("" if self.backend.engine else self.PASSIVE_NOTE)
        self.query_one("#header", HeaderBar).show(title, self.host_stats, notes, banner(self.session, self.clock()))

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        if event.data_table.id == "peers" and event.row_key.value:
            self.push_screen(PeerDetailScreen(self.session, event.row_key.value, self.clock, self.show_secrets))

    def on_tabbed_content_tab_activated(self, event: TabbedContent.TabActivated) -> None:
        if event.pane.id == "tab-log":
            self.write_log()
        self.refresh_panes()

    # --- actions --------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in self.ENGINE_ACTIONS and not self.backend.engine:
            return False
        return True

    def selected_status(self) -> InstanceStatus | None:
        if not self.backend.engine:
            return None
        key = self.query_one("#instances", InstancesPane).selected_key
        if key is None and len(self.session.statuses) == 1:
            key = next(iter(self.session.statuses))
        return self.session.statuses.get(key) if key else None

    def _command(self, cmd: Command) -> None:
        detail = str(cmd.priority) if isinstance(cmd, SetPriority) else ""
        self.session.operator(cmd.verb, cmd.instance, self.clock(), detail)
        future = self.backend.command(cmd)

        def done(f: Any) -> None:
            exc = f.exception()
            if exc is not None:
                self.observer([Notice(f"{cmd.verb} {cmd.instance}: {exc}", "error")])

        future.add_done_callback(done)

    def _with_selected(self) -> InstanceStatus | None:
        status = self.selected_status()
        if status is None:
            self.notify("select an instance first (arrow keys in the Instances table)", severity="warning")
        return status

    def action_priority(self) -> None:
        status = self._with_selected()
        if status is None:
            return

        def apply(value: int | None) -> None:
            if value is not None:
                self._command(SetPriority(status.name, value))
                self.notify(f"{status.name}: priority {value} (held until resume)")

        dialog = self._dialog(PriorityDialog)
        dialog.ask(status.name, status.effective_priority)
        self.push_screen(dialog, apply)

    def _drill(self, action: str, command: type[Demote] | type[Failover],
               consequences: Callable[..., list[str]]) -> None:
        status = self._with_selected()
        if status is None:
            return

        def go() -> None:
            self.session.start_drill(action, status.name, self.clock())
            self._command(command(status.name))
            self.notify(f"{status.name}: {action} drill started")
            self.query_one("#tabs", TabbedContent).active = "tab-drills"

        self.confirm(f"{action.capitalize()} {status.name}?", consequences(status, self.session, self.clock()), go)

    def action_demote(self) -> None:
        self._drill(DEMOTE, Demote, demote_consequences)

    def action_failover(self) -> None:
        self._drill(FAILOVER, Failover, failover_consequences)

    def action_resume(self) -> None:
        status = self._with_selected()
        if status is not None:
            self._command(Resume(status.name))
            self.notify(f"{status.name}: resumed (configured priority {status.configured_priority})")

    def action_counters(self) -> None:
        counters = self.query_one("#counters", Static)
        counters.display = not counters.display
        self.refresh_panes()

    def action_filter(self) -> None:
        view = self.query_one(LogView)

        def apply(value: str | None) -> None:
            if value is not None:
                view.set_filter(value)

        self.push_screen(FilterDialog(view.filter_text), apply)

    def action_pause(self) -> None:
        self.query_one(LogView).toggle_following()

    def action_write_pcap(self) -> None:
        path = self.pcap_dir.absolute() / time.strftime("vrrptui-%Y%m%d-%H%M%S.pcap")
        try:
            safefiles.private_dir(path.parent)  # ours, nobody else may write there: no planted symlinks
            frames = self.session.pcap_frames()
            write_pcap(path, frames, LINKTYPE_RAW)
            count = len(frames)
        except OSError as exc:
            self.notify(f"cannot write {path}: {exc.strerror or exc}", severity="error")
            return
        self.notify(f"wrote {count} packets to {path} (tcpdump -r / Wireshark)")

    def action_export_history(self) -> None:
        text, severity = export_history(self.files, self.session)
        self.notify(text, severity=severity)

    def help_rows(self) -> list[tuple[str, str, str]]:
        rows = []
        for binding in self.BINDINGS:
            assert isinstance(binding, Binding)
            if binding.action in self.ENGINE_ACTIONS and not self.backend.engine:
                continue
            keys = self._keymap.get(binding.id, binding.key) if binding.id else binding.key
            shown = " ".join(self.get_key_display(Binding(k.strip(), binding.action)) for k in keys.split(","))
            rows.append((shown, binding.tooltip or binding.description, binding.id or ""))
        return rows

    def action_help(self) -> None:
        self.push_screen(self.prepare_help())

    def prepare_help(self) -> HelpScreen:
        """The help screen with the keys as they are now, its text laid out (a press only shows it)."""
        help_screen = self._dialog(HelpScreen)
        help_screen.show_rows(self.help_rows(), self.keys_source)
        return help_screen

    def _dialog(self, kind: type[DialogT]) -> DialogT:
        """The app's one `kind` dialog, built at its first use and kept installed: a press only fills it
        in and shows it (a new screen per press costs a compose, a stylesheet pass and a layout)."""
        name = kind.__name__
        if not self.is_screen_installed(name):
            self.install_screen(kind(), name)
        dialog = self.get_screen(name)
        assert isinstance(dialog, kind)
        return dialog

    @classmethod
    def binding_scopes(cls) -> list[dict[str, str]]:
        """Binding ids a keys file may set, per scope (the app, then each dialog)."""
        return [binding_ids(b for b in cls.BINDINGS if isinstance(b, Binding))] + [
            binding_ids(b for b in screen.BINDINGS if isinstance(b, Binding))
            for screen in (PriorityDialog, FilterDialog, SearchDialog, ConfirmDialog, PeerDetailScreen, HelpScreen)
        ]

    def _catch_sigterm(self) -> None:
        """SIGTERM quits like `q`: the runtime resigns and removes its VIPs. A plain signal handler rather than the
        loop's: it also runs while Textual's loop is stuck writing to a terminal that takes no output (a
        stalled ssh session), and then `_exit_if_stuck` ends the process without it."""
        loop = asyncio.get_running_loop()

        def on_sigterm(_signum: int, _frame: object) -> None:
            try:
                loop.call_soon_threadsafe(self.quit_now)
            except RuntimeError:  # the loop is closed: the app has ended already
                return
            if not self.is_headless:
                threading.Thread(target=self._exit_if_stuck, name="sigterm-exit", daemon=True).start()

        try:
            signal.signal(signal.SIGTERM, on_sigterm)
        except ValueError:  # not the main thread
            pass

    def _exit_if_stuck(self) -> None:
        """After SIGTERM: the engine stops at once from this thread (it resigns and removes its VIPs), whatever the
        UI does; if the process is still here STUCK_EXIT_AFTER s later, the terminal takes no output, so Textual's
        writes and with them its loop are blocked, and it ends without the terminal."""
        self.backend.stop()  # thread-safe; quit_now's own stop then finds it done
        time.sleep(STUCK_EXIT_AFTER)
        os._exit(0)

    def quit_now(self) -> None:
        """Resign and remove VIPs first (exactly as headless), then leave."""
        for name in self.session.statuses if self.backend.engine else ():
            self.session.operator("quit", name, self.clock())
        self.shutdown_backend()
        self.exit(0)

    def on_unmount(self) -> None:
        # A crash in the UI ends here too: resign before asyncio.run waits for the backend's thread.
        self.shutdown_backend()

    def shutdown_backend(self) -> None:
        if self._stopping:
            return
        self._stopping = True
        if self.prober is not None:
            self.prober.stop()
        self.backend.stop()
        if self.files is not None:
            self.files.save(self.session)  # what happened since the last tick, the quit included


__all__ = ["VrrpConsole", "NullBackend", "Notice", "Observed"]
