"""The asyncio runtime around the sans-I/O engine (aioquic's adapter shape, see STYLE.md).

It owns what the engine must not (sockets, clock, netlink, child processes), feeds it `loop.time()`,
carries out its actions in order and re-arms one timer at `engine.get_timer()` after every call. Its
parts own their state (docs/ARCHITECTURE.md). On stop or a crash, masters resign with a priority-0
advert and every VIP and VMAC this process added is removed.

    runtime = Runtime(config, log=ConsoleLog(), observer=callback)
    exit_code = asyncio.run(runtime.run())       # headless: handle_signals=True
    runtime.command(Demote("VI_1")).result()     # thread-safe, returns a Future
    runtime.stop()                               # thread-safe: resign, remove VIPs, exit
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import signal
import socket
import threading
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from vrrptui.config.model import Config, VrrpInstance
from vrrptui.daemon import dump
from vrrptui.daemon.actions import at_once, carry_out
from vrrptui.daemon.control import ControlServer, default_socket_path
from vrrptui.daemon.feed import Observer, ObserverFeed, wall_time
from vrrptui.daemon.garp_schedule import GratuitousSchedule
from vrrptui.daemon.host import HostChanges, claimable_vips
from vrrptui.daemon.lifecycle import Lifecycle, on_loop, resign, resign_adverts
from vrrptui.daemon.linkevents import LinkEvents
from vrrptui.daemon.notify import NotifyRunner
from vrrptui.daemon.reloader import Reloader
from vrrptui.daemon.scripts import ScriptRunner
from vrrptui.daemon.sender import AdvertSender
from vrrptui.daemon.sockpool import SocketPool, heard_on_vmacs
from vrrptui.daemon.sources import SourceAddresses
from vrrptui.daemon.stale import VipJournal
from vrrptui.daemon.processes import ProcessWatch
from vrrptui.daemon.timer import EngineTimer
from vrrptui.daemon.trackfiles import FileWatch
from vrrptui.daemon.vipguard import VipGuard
from vrrptui.engine.commands import Command, CommandError
from vrrptui.engine.engine import Engine
from vrrptui.engine.outputs import (
    Action, Dropped, LogFn, LogLine, Output, RunGroupNotify, RunNotify, State, StateChanged,
)
from vrrptui.engine.status import InstanceStatus
from vrrptui.net.netlink import Netlink
from vrrptui.net.sockets import AH_PROTO, VrrpSocket
from vrrptui.protocol import ah
from vrrptui.records import Heard, RuntimeNote

if TYPE_CHECKING:
    from vrrptui.daemon.stale import Resign

RECV_BATCH = 256  # packets read per wake-up before letting timers run
SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGUSR1, signal.SIGUSR2)


class _Default:
    def __repr__(self) -> str:
        return "DEFAULT"


DEFAULT = _Default()  # control_path: /run/vrrptui/<pid>.sock (or $VRRPTUI_RUNTIME_DIR)


class Runtime:
    def __init__(self, config: Config, *, log: LogFn, observer: Observer | None = None,
                 control_path: str | _Default | None = DEFAULT, handle_signals: bool = False,
                 vip_journal: bool = False) -> None:
        self.config = config
        self.log = log
        self._observer = observer
        self.control_path = control_path
        self.handle_signals = handle_signals
        self.vip_journal = vip_journal  # journal held VIPs for a restart after kill -9 (daemon/stale.py)
        self.started = threading.Event()  # set once the engine runs (or start failed: see start_error)
        self.start_error: BaseException | None = None
        self.engine: Engine | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self.netlink: Netlink | None = None
        self.host: HostChanges | None = None  # VIPs and VMACs this process added, and their undo
        self.control: Any = None  # control.ControlServer once serving
        self.lifecycle = Lifecycle(self._log)
        self.scripts = ScriptRunner(self._on_script_change, self._log)
        self.notify = NotifyRunner(self._log)
        self.files = FileWatch(self._on_file_value, self._log)
        self.processes = ProcessWatch(self._on_process_state, self._log)
        self._instances: dict[str, VrrpInstance] = {i.name: i for i in config.instances}
        self._pool: SocketPool | None = None
        self._sources: SourceAddresses | None = None
        self._links: LinkEvents | None = None
        self._timer: EngineTimer | None = None
        self._feed: ObserverFeed | None = None
        self._garp: GratuitousSchedule | None = None
        self._reloader: Reloader | None = None
        self._sender: AdvertSender | None = None
        self._cleaned = False
        self._reloading = asyncio.Lock()  # one reload at a time
        self._reloads_asked = 0  # SIGHUPs and reload requests so far
        self._reloads_covered = 0  # of those, the ones a reload began after: it read the file as they left it
        self._reload_result = False  # the last reload's
        self._applying = asyncio.Lock()  # held while a parsed configuration is applied; a stop waits for it
        self._held: list[LogLine] | None = None  # the runtime's lines while a batch's actions run
        self._settling: list[VrrpInstance] = []  # VIPs added at once (`_at_once`): their routes after the batch
        self._vmac_bases, self._vrid_filters = heard_on_vmacs(config.instances)

    @property
    def observer(self) -> Observer | None:
        return self._observer

    @observer.setter
    def observer(self, observer: Observer | None) -> None:
        """Attached once running (the metrics' watch), it gets records but no status snapshots."""
        self._observer = observer
        if self.engine is not None and self.loop is not None:
            self._feed = None if observer is None else ObserverFeed(
                self.loop, observer, self.engine, self._log, self.lifecycle.guarded, snapshots=False)

    exit_code = property(lambda self: self.lifecycle.exit_code)
    reloads = property(lambda self: self._reloader.count if self._reloader is not None else 0)

    def run_forever(self) -> int:  # on a fresh event loop in the calling thread
        return asyncio.run(self.run())

    def stop(self) -> None:
        """Resign and exit (thread-safe, idempotent). run() returns once cleanup is done."""
        self.lifecycle.stop_requested = True
        self._call_soon_threadsafe(self.lifecycle.request_stop)

    def request_reload(self) -> concurrent.futures.Future[bool]:
        """Reload (thread-safe): re-parse the config file; True when the new one is in force."""
        return asyncio.run_coroutine_threadsafe(self._reload(), self._require_loop())

    def command(self, cmd: Command) -> concurrent.futures.Future[None]:
        """Operator command (thread-safe); the Future raises CommandError when the engine refuses it."""
        return self._on_loop(lambda: self.command_now(cmd))

    def status(self) -> concurrent.futures.Future[tuple[InstanceStatus, ...]]:
        """Every instance's status, computed on the loop (thread-safe)."""
        return self._on_loop(self.status_now)

    wall_time = staticmethod(wall_time)

    def status_now(self) -> tuple[InstanceStatus, ...]:
        return self.engine.status(self.loop.time()) if self.engine is not None and self.loop is not None else ()

    def unclaimed_drops(self) -> dict[str, int]:  # packets no instance claims, per drop reason
        return dict(self.engine.drops) if self.engine is not None else {}

    def command_now(self, cmd: Command) -> None:
        """Operator command on the loop thread (the control socket and the worker call this)."""
        engine, loop = self.engine, self.loop
        if engine is None or loop is None:
            raise CommandError("the engine is not running yet")
        self._apply(engine.command(cmd, loop.time()))  # the engine logs the operator's action

    async def run(self) -> int:
        """Start, serve until stop() / SIGTERM / SIGINT, clean up. Returns the exit code."""
        self.loop = loop = asyncio.get_running_loop()
        lifecycle = self.lifecycle
        previous_handler = loop.get_exception_handler()
        loop.set_exception_handler(lifecycle.on_loop_exception)
        if self.handle_signals:
            loop.add_signal_handler(signal.SIGTERM, lifecycle.request_stop)
            loop.add_signal_handler(signal.SIGINT, lifecycle.request_stop)
            loop.add_signal_handler(signal.SIGHUP, lambda: loop.create_task(self._reload()))
            for sig, kind in ((signal.SIGUSR1, "data"), (signal.SIGUSR2, "stats")):  # keepalived's dumps
                loop.add_signal_handler(sig, lifecycle.guarded(dump.on_signal), kind, self, self._log)
        try:
            try:
                await self._start()
            except BaseException as exc:
                self.start_error = exc
                raise
            finally:
                self.started.set()
            await lifecycle.serve()
        except asyncio.CancelledError:
            self._log(LogLine("Stopping (cancelled)"))
        except Exception as exc:
            lifecycle.crashed(exc)
        finally:
            await self._cleanup()
            if self.handle_signals:
                for sig in SIGNALS:
                    loop.remove_signal_handler(sig)
                    # served: the process is on its way out (guardian, pid files, last log line), and a
                    # signal's default action now would kill it half-way or print a traceback
                    signal.signal(sig, signal.SIG_IGN)
            loop.set_exception_handler(previous_handler)
        return self.exit_code

    async def _start(self) -> None:
        loop, config, guarded = self._require_loop(), self.config, self.lifecycle.guarded
        delay = config.global_defs.vrrp_startup_delay
        if delay > 0:
            # keepalived's vrrp_startup_delay: nothing is sent, read or changed until it has passed
            self._log(LogLine(f"Delaying startup for {delay:g} seconds"))
            if await self.lifecycle.serve(delay):
                return  # stopped while waiting: nothing was started
        self.netlink = netlink = Netlink()
        journal = VipJournal.for_config(config.path) if self.vip_journal else None
        self.host = host = HostChanges(netlink, loop, self._log, self._note, guarded, journal)
        self._garp = GratuitousSchedule(loop, host.send_gratuitous_burst)
        host.create_vmacs(config.instances)
        host.remove_stale_vips(config.instances)
        host.remove_stale_firewall(config.instances)
        host.routing.add_static(config)
        self._sources = sources = SourceAddresses(netlink, self._log)
        sources.primary = sources.compute(config)
        self._pool = pool = SocketPool(loop, guarded(self._on_readable), self._log)
        pool.open_at_start(config.instances)
        if journal is not None:
            journal.listening = pool.listening  # what a restart after kill -9 listens on first
        self.notify.configure(config)
        scripts = self.scripts.prepare(config)  # refusals first: no instance ever counts them
        now = loop.time()
        self.engine = engine = Engine(config, primary_addresses=sources.primary, now=now, urgent=self._at_once)
        self._timer = EngineTimer(loop, engine, self._on_timer, guarded)
        if journal is not None:
            journal.resigning = self._resign_adverts  # what the guardian sends if this process is killed
            journal.claimable = self._claimable_vips  # and the VIPs it removes if present: listed before a takeover
        self._sender = AdvertSender(loop, engine, sources.primary, pool, lambda: self._feed, self._log,
                                    journal_again=host.journal_soon)
        self._links = links = LinkEvents(loop, engine, lambda: self.config, sources, pool, self._apply, self._log,
                                         guarded, host)
        links.prepare_takeovers = self._prepare_takeovers
        links.guard = VipGuard(host, self._instances.get, lambda name: engine.machine(name).state is State.MASTER,
                               links.has_source, host.announce_again, self._log)
        self._reloader = Reloader(engine, host, sources, pool, self.notify, self.scripts, (self.files, self.processes),
                                  self._instances, self._apply, self._log)
        for name in self.scripts.refused:
            self._process(engine.disable_script(name, now))
        self.files.start(config, loop)  # track_file values before the instances leave INIT
        self.processes.start(config, loop)
        self._log(LogLine("Startup complete"))
        since = pool.listening_since()  # the Master_Down_Timer counts from then (earlylisten), not from here
        self._process(engine.start(now if delay > 0 or since is None else min(since, now)))
        host.journal_soon()  # the VIPs the instances may take, before any of them is master
        links.report_down_at_start(config)
        pool.drain(self._on_readable)  # what was heard meanwhile, before any timer
        self.scripts.start(config, scripts)
        self._timer.rearm()
        if self.control_path is not None:
            path = default_socket_path() if isinstance(self.control_path, _Default) else str(self.control_path)
            self.control = await ControlServer.serving(self, path, self._log)
        if self._observer is not None:
            self._feed = ObserverFeed(loop, self._observer, engine, self._log, guarded)

    def _require_loop(self) -> asyncio.AbstractEventLoop:
        if self.loop is None:
            raise RuntimeError("the runtime is not running: call run() / run_forever() first")
        return self.loop

    def _call_soon_threadsafe(self, func: Callable[[], None]) -> None:
        loop = self.loop
        if loop is not None and not loop.is_closed():
            try:
                loop.call_soon_threadsafe(func)
            except RuntimeError:  # loop closed in between
                pass

    def _on_loop(self, func: Callable[[], Any]) -> concurrent.futures.Future[Any]:
        return on_loop(self._require_loop(), func)

    def _at_once(self, action: Action) -> None:
        if self.host is not None:
            self._settling += at_once(action, self._instances, self.host, self._garp, self._sender, self._log)

    def _on_timer(self, now: float) -> None:
        if self.engine is not None:
            # What the sockets hold first: after a stall (SIGSTOP/SIGCONT, a paused VM) epoll_wait returns with
            # the deadline gone and asyncio runs this before the readers; a backup would take over from a
            # master whose adverts sat queued, then hand back (both held the VIP)
            if self._pool is not None:
                self._pool.drain(self._on_readable)
            self._apply(self.engine.handle_timer(now))

    def _on_readable(self, ifname: str, sock: VrrpSocket) -> None:
        engine, loop, feed, timer = self.engine, self.loop, self._feed, self._timer
        if engine is None or loop is None or timer is None:
            return
        # with VMACs, each advert is read by one socket (sockpool.heard_on_vmacs): this one's VRIDs
        only, vrids = self._vrid_filters.get((ifname, 4 if sock.family == socket.AF_INET else 6), (False, ()))
        ifname = self._vmac_bases.get(ifname, ifname)  # read on a VMAC: its base's, for everything downstream
        for packets in sock.batches(RECV_BATCH):
            now = loop.time() - sock.age()  # when the last of them arrived (the engine's clock never goes back)
            for payload, src, dst, ttl in packets:
                if vrids and sock.protocol != AH_PROTO and len(payload) > 1 and (payload[1] in vrids) != only:
                    continue
                if sock.protocol == AH_PROTO:
                    packet = ah.parse(payload)
                    if feed is not None and isinstance(packet, ah.AhPacket):
                        feed(Heard(ifname, now, packet.src, packet.dst, packet.ttl,
                                   engine.decode(packet.message, packet.src, packet.dst), packet.message))
                    outs = engine.receive_ah_packet(ifname, payload, now)
                elif feed is not None:  # one decode, shared by the engine and the observer
                    result = engine.decode(payload, src, dst)
                    feed(Heard(ifname, now, src, dst, ttl, result, payload))
                    outs = engine.receive_packet(ifname, src, dst, ttl, payload, now, result)
                else:
                    outs = engine.receive_packet(ifname, src, dst, ttl, payload, now)
                if outs:
                    self._process(outs)
        timer.rearm()  # once per wake-up, not per packet

    def _on_script_change(self, name: str, ok: bool, exit_status: int | None, timed_out: bool) -> None:
        if self.engine is not None and self.loop is not None:
            self._apply(self.engine.script_state(name, ok, self.loop.time(), exit_status=exit_status,
                                                 timed_out=timed_out))

    def _on_file_value(self, name: str, value: int) -> None:
        if self.engine is not None and self.loop is not None:
            self._apply(self.engine.file_value(name, value, self.loop.time()))

    def _on_process_state(self, name: str, ok: bool) -> None:
        if self.engine is not None and self.loop is not None:
            self._log(LogLine(f"Track process {name} {'quorum met' if ok else 'quorum lost'}", detail=True))
            self._apply(self.engine.process_state(name, ok, self.loop.time()))

    def _apply(self, outs: Iterable[Output]) -> None:
        self._process(outs)
        if self._timer is not None:
            self._timer.rearm()

    def _process(self, outs: Iterable[Output]) -> None:
        """Carry out the engine's outputs: first, back to back and in the engine's order, what the segment
        sees (adverts, priority-0 ones ahead of all, VIPs, a new master's first GARPs / NAs); then the log
        lines, observer events and notify scripts, the virtual routes and bookkeeping of VIPs just added,
        and the lines the runtime wrote meanwhile."""
        batch = outs if isinstance(outs, list) else list(outs)
        held: list[LogLine] = []
        self._held = held
        try:
            settling = carry_out(batch, self._instances, self.host, self._garp, self._sender)
        finally:
            self._held = None
            self._report(batch, held)
        settling, self._settling = self._settling + settling, []
        if self.host is not None:
            for inst in settling:
                self.host.vips_added(inst)

    def _report(self, batch: list[Output], held: list[LogLine]) -> None:
        feed = self._feed
        for out in batch:
            match out:
                case LogLine():
                    self.log(out)
                case RunNotify():
                    self.notify.run(out, self._instances.get(out.instance))
                case RunGroupNotify():
                    self.notify.run_group(out)
                case StateChanged() | Dropped() if feed is not None:
                    feed(out)
            if isinstance(out, StateChanged):
                self._build_ahead(out.instance, out.new)
        for line in held:
            self._log(line)

    def _build_ahead(self, name: str, state: State) -> None:
        """What the instance's next transition sends, built now (it then only sends): a backup's first advert
        as master, VIP requests and GARPs; a master's priority-0 advert."""
        inst, engine, sender = self._instances.get(name), self.engine, self._sender
        if inst is None or engine is None or sender is None:
            return
        if state is State.MASTER:
            sender.prepare(inst, 0)
        elif state is State.BACKUP:
            sender.prepare(inst, engine.machine(name).effective_priority)
            if self.host is not None:
                self.host.prepare_takeover(inst)

    def _prepare_takeovers(self) -> None:
        """Every instance's next transition built again (its links changed, or a reload changed it)."""
        if self.host is not None and self.engine is not None:
            self.host.forget_prepared()
            for name in self._instances:
                self._build_ahead(name, self.engine.machine(name).state)
            self.host.journal_soon()  # the masters' priority-0 adverts, as the guardian would send them

    def _note(self, instance: str, text: str) -> None:
        if self._feed is not None and self.loop is not None:
            self._feed(RuntimeNote(self.loop.time(), instance, text))

    def _log(self, line: LogLine) -> None:
        """The runtime's own lines (the console reads them from the log, as it reads the engine's); while a
        batch's actions run, after the batch's own lines."""
        if self._held is not None:
            self._held.append(line)
            return
        try:
            self.log(line)
        except Exception:
            pass

    def _stopping(self) -> bool:
        return self._cleaned or self.lifecycle.stop_requested

    async def _reload(self) -> bool:
        """SIGHUP: the new configuration in force, or the running one kept (see reloader). One reload at a
        time, in the order asked; the asks that come while one runs are served by a single next one (a burst of
        SIGHUPs from a config tool reads the file twice, not once a signal). A stop that comes while the file is
        parsed wins: nothing is applied after it. One that comes while it is applied waits for the apply (no
        child process, milliseconds; _cleanup)."""
        self._reloads_asked += 1
        asked = self._reloads_asked
        async with self._reloading:
            if self._reloader is None or self._stopping():
                return False
            if self._reloads_covered >= asked:  # a reload that began after this ask has just been done
                return self._reload_result
            self._reloads_covered, self._reload_result = self._reloads_asked, False
            self._reload_result = await self._reload_now(self._reloader)
            return self._reload_result

    async def _reload_now(self, reloader: Reloader) -> bool:
        parsed = await reloader.parse(self.config)
        if parsed is None or self._stopping():  # a stop came meanwhile: _cleanup said so and killed the reader
            return False
        async with self._applying:
            old = self.config
            self.config = await reloader.apply(old, parsed, self._require_loop())
            self._vmac_bases, self._vrid_filters = heard_on_vmacs(self.config.instances)
            if self.config is not old:
                self._prepare_takeovers()
            if self._timer is not None:
                self._timer.rearm()
            return self.config is not old

    async def _cleanup(self) -> None:
        """Resign, remove our VIPs, delete VMACs, close everything. Each step runs even if one fails."""
        if self._cleaned:
            return
        self._cleaned = True
        async with self._applying:  # a reload being applied finishes first; one still parsing is abandoned
            pass
        if self._reloading.locked():
            self._log(LogLine("Reload abandoned: stopping"))
        self._log(LogLine("Stopping"))
        host, feed = self.host, self._feed
        await self.lifecycle.run_steps([
            self._stop_timers, *([self.control.stop] if self.control is not None else []), self._resign,
            *([host.remove_all_vips, host.routing.remove_static, host.close_journal] if host is not None else []),
            *([self.control.close] if self.control is not None else []),
            *([self._reloader.reader.abandon] if self._reloader is not None else []),  # a parse in progress
            self.scripts.stop, self.files.stop, self.processes.stop, lambda: self.notify.drain(timeout=3.0),
            self.notify.close, self._close_sockets,
            *([host.delete_vmacs] if host is not None else []),
            *([feed.flush] if feed is not None else []),
            *([self.netlink.close] if self.netlink is not None else []),
        ])
        self.netlink = None

    def _stop_timers(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        if self._feed is not None:
            self._feed.stop_snapshots()
        if self._garp is not None:
            self._garp.stop_all()

    def _resign(self) -> None:
        engine, sources, pool = self.engine, self._sources, self._pool
        if engine is not None and sources is not None and pool is not None:
            holding = self.host.holding() if self.host is not None else []
            resign(engine, self._require_loop().time(), self._process, holding, self._instances, sources.primary,
                   pool, self._log)

    def _claimable_vips(self) -> list[tuple[str, str]]:
        return [(dev, str(vip.interface)) for inst in self._instances.values() for vip, dev in claimable_vips(inst)]

    def _resign_adverts(self) -> list[Resign]:
        engine, sources, pool, host = self.engine, self._sources, self._pool, self.host
        if engine is None or sources is None or pool is None or host is None:
            return []
        return resign_adverts(engine, host.holding(), self._instances, sources.primary, pool)

    def _close_sockets(self) -> None:
        if self._pool is not None:
            self._pool.close()
        if self._links is not None:
            self._links.close()
            self._links = None
