"""The asyncio runtime around the sans-I/O engine (aioquic's adapter shape, see STYLE.md).

It owns everything the engine must not: sockets, the clock, netlink, child processes.
It feeds the engine `loop.time()`, carries out the actions it returns in order, and
re-arms one `loop.call_at(engine.get_timer())` after every engine call.

    runtime = Runtime(config, log=ConsoleLog(), observer=callback)
    exit_code = asyncio.run(runtime.run())       # headless: handle_signals=True
    # or, from a console hosting it in a worker thread:
    threading.Thread(target=runtime.run_forever).start(); runtime.started.wait()
    runtime.command(Demote("VI_1")).result()   # thread-safe, returns a Future
    runtime.stop()                               # thread-safe: resign, remove VIPs, exit

Lifecycle without loss: VIPs of our instances left on the host by a crashed run are
removed before the engine starts; on stop (or a crash anywhere in here) masters resign
with a priority-0 advert, every VIP this process added is removed, VMACs are deleted.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import errno
import ipaddress
import os
import signal
import threading
import time
import traceback
from collections.abc import Callable, Iterable
from typing import Any

from vrrptui.config.model import Config, VrrpInstance
from vrrptui.daemon.garp import GratuitousSchedule
from vrrptui.daemon.host import HostChanges, configured_source
from vrrptui.daemon.notify import NotifyRunner
from vrrptui.records import Heard, Observation, RuntimeNote, StatusSnapshot
from vrrptui.daemon.scripts import ScriptRunner
from vrrptui.daemon.processes import ProcessWatch
from vrrptui.daemon.trackfiles import FileWatch
from vrrptui.daemon.vipguard import VipGuard
from vrrptui.engine.ah_state import uses_ah
from vrrptui.engine.commands import Command, CommandError
from vrrptui.engine.engine import Engine
from vrrptui.engine.outputs import (
    AddVips,
    Dropped,
    LogLine,
    LowerPriorityGratuitous,
    Output,
    RemoveVips,
    RunGroupNotify,
    RunNotify,
    SendAdvert,
    StartGratuitous,
    State,
    StateChanged,
    StopGratuitous,
)
from vrrptui.engine.status import InstanceStatus
from vrrptui.net.netlink import Netlink, choose_primary
from vrrptui.net.sockets import AH_PROTO, MCAST_V4, MCAST_V6, VRRP_PROTO, VRRP_TTL, Received, VrrpSocket
from vrrptui.protocol import ah
from vrrptui.protocol.packet import Advert, IPAddress, encode

LogFn = Callable[[LogLine], None]
Observer = Callable[[tuple[Observation, ...]], None]

SNAPSHOT_PERIOD = 0.1  # seconds between StatusSnapshots to the observer
RECV_BATCH = 256  # packets read per wake-up before letting timers run


EPOLL_ROUNDING = 0.001  # seconds: epoll_wait takes whole milliseconds, rounded up by asyncio

class _Default:
    def __repr__(self) -> str:
        return "DEFAULT"


DEFAULT = _Default()  # control_path: /run/vrrptui/<pid>.sock (or $VRRPTUI_RUNTIME_DIR)


class Runtime:
    def __init__(
        self,
        config: Config,
        *,
        log: LogFn,
        observer: Observer | None = None,
        control_path: str | _Default | None = DEFAULT,
        handle_signals: bool = False,
    ) -> None:
        self.config = config
        self.log = log
        self.observer = observer
        self.control_path = control_path
        self.handle_signals = handle_signals
        self.exit_code = 0
        self.started = threading.Event()  # set once the engine runs (or start failed: see start_error)
        self.start_error: BaseException | None = None
        self.engine: Engine | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self.netlink: Netlink | None = None
        self.control: Any = None  # control.ControlServer once serving
        self._instances: dict[str, VrrpInstance] = {i.name: i for i in config.instances}
        self._primary: dict[str, IPAddress] = {}
        self._followers: dict[str, list[VrrpInstance]] = {}  # interface -> instances sending from its primary
        self._never_primary: frozenset[IPAddress] = frozenset()  # VIPs (not an owner's): never a source
        self._address_dirty: dict[str, set[IPAddress] | None] = {}  # coalesced address events, see _on_link_event
        self._address_refresh_scheduled = False
        self._recv_sockets: dict[tuple[str, int, int], VrrpSocket] = {}  # (interface, family, IP protocol)
        self._send_only: dict[tuple[str, int, int], VrrpSocket] = {}
        self.host: HostChanges | None = None  # VIPs and VMACs this process added, and their undo
        self._linkwatch: Any = None
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at: float | None = None
        self._stop_event: asyncio.Event | None = None
        self._stop_requested = False
        self._cleaned = False
        self._send_errors: set[str] = set()
        self._pending: list[Observation] = []
        self._flush_scheduled = False
        self._snapshot_handle: asyncio.TimerHandle | None = None
        self._garp: GratuitousSchedule | None = None
        self._vipguard: VipGuard | None = None
        self.scripts = ScriptRunner(self._on_script_change, self._log)
        self.files = FileWatch(self._on_file_value, self._log)
        self.processes = ProcessWatch(self._on_process_state, self._log)
        self.notify = NotifyRunner(self._log)
        self.reloads = 0

    # --- public, thread-safe ------------------------------------------------------

    def run_forever(self) -> int:
        """Run on a fresh event loop in the calling thread (the console's worker)."""
        return asyncio.run(self.run())

    def stop(self) -> None:
        """Resign and exit (thread-safe, idempotent). run() returns once cleanup is done."""
        self._stop_requested = True
        loop = self.loop
        if loop is not None and not loop.is_closed():
            try:
                loop.call_soon_threadsafe(self._request_stop)
            except RuntimeError:  # loop closed in between
                pass

    def request_reload(self, config: Config | None = None) -> concurrent.futures.Future[bool]:
        """Reload (thread-safe): re-parse the config file (or use `config`); True when applied."""
        return self._submit(self._reload(config))

    def command(self, cmd: Command) -> concurrent.futures.Future[None]:
        """Operator command (thread-safe); the Future raises CommandError when the engine refuses it."""
        future: concurrent.futures.Future[None] = concurrent.futures.Future()
        loop = self._require_loop()

        def apply() -> None:
            if not future.set_running_or_notify_cancel():
                return
            try:
                self.command_now(cmd)
                future.set_result(None)
            except Exception as exc:
                future.set_exception(exc)

        loop.call_soon_threadsafe(apply)
        return future

    def status(self) -> concurrent.futures.Future[tuple[InstanceStatus, ...]]:
        """Every instance's status, computed on the loop (thread-safe)."""
        future: concurrent.futures.Future[tuple[InstanceStatus, ...]] = concurrent.futures.Future()
        loop = self._require_loop()

        def compute() -> None:
            try:
                future.set_result(self.status_now())
            except Exception as exc:
                future.set_exception(exc)

        loop.call_soon_threadsafe(compute)
        return future

    def wall_time(self, at: float) -> float:
        """Engine clock (loop.time()) -> epoch seconds."""
        return time.time() - time.monotonic() + at

    # --- on the loop ------------------------------------------------------------------

    def status_now(self) -> tuple[InstanceStatus, ...]:
        if self.engine is None or self.loop is None:
            return ()
        return self.engine.status(self.loop.time())

    def unclaimed_drops(self) -> dict[str, int]:
        """Packets no instance here claims (VRID not configured, undecodable), per drop reason."""
        return dict(self.engine.drops) if self.engine is not None else {}

    def command_now(self, cmd: Command) -> None:
        """Operator command on the loop thread (the control socket and the worker call this)."""
        engine, loop = self.engine, self.loop
        if engine is None or loop is None:
            raise CommandError("the engine is not running yet")
        self._process(engine.command(cmd, loop.time()))  # the engine logs the operator's action

    async def run(self) -> int:
        """Start, serve until stop() / SIGTERM / SIGINT, clean up. Returns the exit code."""
        self.loop = loop = asyncio.get_running_loop()
        self._stop_event = asyncio.Event()
        if self._stop_requested:
            self._stop_event.set()
        previous_handler = loop.get_exception_handler()
        loop.set_exception_handler(self._on_loop_exception)
        if self.handle_signals:
            loop.add_signal_handler(signal.SIGTERM, self._request_stop)
            loop.add_signal_handler(signal.SIGINT, self._request_stop)
            loop.add_signal_handler(signal.SIGHUP, self._on_sighup)
            loop.add_signal_handler(signal.SIGUSR1, self._guarded(self._dump), "data")
            loop.add_signal_handler(signal.SIGUSR2, self._guarded(self._dump), "stats")
        try:
            try:
                await self._start()
            except BaseException as exc:
                self.start_error = exc
                raise
            finally:
                self.started.set()
            await self._stop_event.wait()
        except asyncio.CancelledError:
            self._log(LogLine("Stopping (cancelled)"))
        except Exception as exc:
            self._crashed(exc)
        finally:
            await self._cleanup()
            if self.handle_signals:
                for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGUSR1, signal.SIGUSR2):
                    loop.remove_signal_handler(sig)
            loop.set_exception_handler(previous_handler)
        return self.exit_code

    # --- start ----------------------------------------------------------------------

    async def _start(self) -> None:
        loop = self._require_loop()
        delay = self.config.global_defs.vrrp_startup_delay
        if delay > 0 and self._stop_event is not None:
            # keepalived's vrrp_startup_delay: nothing is sent, read or changed until it has passed
            self._log(LogLine(f"Delaying startup for {delay:g} seconds"))
            try:
                await asyncio.wait_for(self._stop_event.wait(), delay)
                return  # stopped while waiting: nothing was started
            except TimeoutError:
                pass
        self.netlink = Netlink()
        self.host = host = HostChanges(self.netlink, loop, self._log, self._note, self._guarded)
        self._garp = GratuitousSchedule(loop, host.send_gratuitous_burst)
        self._vipguard = VipGuard(host, self._instances.get, self._is_master, self._has_source,
                                  self._announce_again, self._log)
        host.create_vmacs(self.config.instances)
        host.remove_stale_vips(self.config.instances)
        host.remove_stale_firewall(self.config.instances)
        host.routing.add_static(self.config)
        self._primary = self._primary_addresses(self.config)
        self._open_sockets(self.config)
        self._open_linkwatch()
        self.notify.configure(self.config)
        scripts = self.scripts.prepare(self.config)  # refusals first: no instance ever counts them
        now = loop.time()
        self.engine = Engine(self.config, primary_addresses=self._primary, now=now)
        for name in self.scripts.refused:
            self._process(self.engine.disable_script(name, now))
        self.files.start(self.config, loop)  # track_file values before the instances leave INIT
        self.processes.start(self.config, loop)
        self._log(LogLine("Startup complete"))
        self._process(self.engine.start(now))
        for ifname in self._watched_interfaces(self.config):
            if not self._netlink().link_is_up(ifname):
                self._process(self.engine.interface_state(ifname, False, loop.time()))
        self.scripts.start(self.config, scripts)
        self._rearm()
        if self.control_path is not None:
            from vrrptui.daemon.control import ControlServer, default_socket_path

            path = default_socket_path() if isinstance(self.control_path, _Default) else self.control_path
            self.control = ControlServer(self, path)
            try:
                await self.control.start()
            except OSError as exc:
                self._log(LogLine(f"control socket {path} not available: {exc.strerror or exc}", level="warning"))
                self.control = None
        if self.observer is not None:
            self._snapshot_handle = loop.call_later(SNAPSHOT_PERIOD, self._guarded(self._snapshot))

    def _host(self) -> HostChanges:
        if self.host is None:
            raise RuntimeError("the runtime has not started")
        return self.host

    def _note(self, instance: str, text: str) -> None:
        if self.observer is not None and self.loop is not None:
            self._observe(RuntimeNote(self.loop.time(), instance, text))

    def _netlink(self) -> Netlink:
        if self.netlink is None:
            raise RuntimeError("netlink is not open")
        return self.netlink

    def _require_loop(self) -> asyncio.AbstractEventLoop:
        if self.loop is None:
            raise RuntimeError("the runtime is not running: call run() / run_forever() first")
        return self.loop

    @staticmethod
    def recv_interface(inst: VrrpInstance) -> str:
        """Adverts arrive on the base interface (multicast reaches it as well as the VMAC)."""
        return inst.unicast_src_dev or inst.interface or ""

    @staticmethod
    def send_interface(inst: VrrpInstance) -> str:
        """keepalived sends from the VMAC unless vmac_xmit_base."""
        if inst.use_vmac and not inst.vmac_xmit_base:
            return inst.vmac_interface
        return Runtime.recv_interface(inst)

    @staticmethod
    def socket_key(inst: VrrpInstance, ifname: str) -> tuple[str, int, int]:
        """`auth_type AH` instances send and receive IP protocol 51 (whole datagrams), the others 112."""
        return ifname, inst.family, AH_PROTO if uses_ah(inst) else VRRP_PROTO

    def _watched_interfaces(self, config: Config) -> set[str]:
        names: set[str] = set()
        for inst in config.instances:
            if inst.interface:
                names.add(inst.interface)
            names.update(t.name for t in inst.track_interfaces)
        return names

    def _follow_primaries(self, config: Config) -> None:
        """Which instances take their source from which interface's primary address."""
        self._followers = {}
        for inst in config.instances:
            ifname = self.recv_interface(inst)
            if ifname and configured_source(inst) is None:
                self._followers.setdefault(ifname, []).append(inst)
        # an address owner's VIP is usually the interface's own address: it may well be the primary
        self._never_primary = frozenset(v.address for i in config.instances if not i.owner for v in i.all_vips)

    def _primary_addresses(self, config: Config) -> dict[str, IPAddress]:
        """The source address of each instance's adverts: unicast_src_ip/mcast_src_ip, else the interface's
        primary (one netlink dump per interface, whatever the number of instances on it)."""
        self._follow_primaries(config)
        result: dict[str, IPAddress] = {}
        for inst in config.instances:
            configured = configured_source(inst)
            if configured is not None:
                result[inst.name] = configured
        for ifname, instances in self._followers.items():
            for inst, address in zip(instances, self._interface_primaries(ifname, instances, None), strict=False):
                if address is None:
                    address = _unspecified(inst.family)
                    self._log(LogLine(
                        f"({inst.name}) no IPv{inst.family} address on {ifname}: "
                        f"adverts cannot be sent until one is added", level="warning"))
                result[inst.name] = address
        for inst in config.instances:
            if inst.name not in result:  # no interface at all
                self._log(LogLine(f"({inst.name}) no IPv{inst.family} address on (no interface): "
                                  f"adverts cannot be sent until one is added", level="warning"))
                result[inst.name] = _unspecified(inst.family)
        return result

    def _interface_primaries(self, ifname: str, instances: list[VrrpInstance], index: int | None
                             ) -> list[IPAddress | None]:
        """Each instance's primary on `ifname` from one dump: the interface's own address for the
        instance's family, never a VIP (its own, another instance's, or one we added)."""
        netlink = self._netlink()
        if index is None:
            index = netlink.link_index(ifname)
        entries = netlink.interface_addresses(ifname, index) if index is not None else None
        if entries is None or index is None:
            return [None] * len(instances)
        vips = self._never_primary | netlink.added_on(index)
        return [choose_primary(entries, inst.family, vips | {v.address for v in inst.all_vips}) for inst in instances]

    def _open_sockets(self, config: Config) -> None:
        loop = self._require_loop()
        want_recv: dict[tuple[str, int, int], bool] = {}  # key -> join multicast
        want_send: set[tuple[str, int, int]] = set()
        for inst in config.instances:
            key = self.socket_key(inst, self.recv_interface(inst))
            want_recv[key] = want_recv.get(key, False) or not inst.unicast
            send_key = self.socket_key(inst, self.send_interface(inst))
            if send_key != key:
                want_send.add(send_key)
        for key, join in want_recv.items():
            if key in self._recv_sockets:
                continue
            sock = VrrpSocket(key[1], key[0], join_multicast=join, protocol=key[2])
            self._recv_sockets[key] = sock
            loop.add_reader(sock.fileno(), self._guarded(self._on_readable), key[0], sock)
            self._log(LogLine(
                f"VRRP sockpool: [ifindex({sock.ifindex:3d}), family(IPv{key[1]}), proto({key[2]}), "
                f"fd({sock.fileno()}) "
                f"{'multicast, address(' + str(MCAST_V4 if key[1] == 4 else MCAST_V6) + ')' if join else 'unicast'}]",
                detail=True))
        for key in want_send - set(want_recv):
            if key not in self._send_only:
                # send-only (VMAC): no group joined, so the kernel queues nothing here
                self._send_only[key] = VrrpSocket(key[1], key[0], join_multicast=False, protocol=key[2])
        for key in [k for k in self._recv_sockets if k not in want_recv]:
            sock = self._recv_sockets.pop(key)
            loop.remove_reader(sock.fileno())
            sock.close()
        for key in [k for k in self._send_only if k not in want_send or k in want_recv]:
            self._send_only.pop(key).close()

    def _open_linkwatch(self) -> None:
        from vrrptui.net.linkwatch import LinkWatcher

        self._linkwatch = LinkWatcher(addresses=True)
        self._require_loop().add_reader(self._linkwatch.fileno(), self._guarded(self._on_link_event))

    # --- engine plumbing ----------------------------------------------------------------

    def _rearm(self) -> None:
        engine = self.engine
        if engine is None:
            return
        deadline = engine.get_timer()
        if deadline == self._timer_at and (deadline is None or self._timer is not None):
            return
        # A backup's deadline moves later with every advert: keep an armed timer that fires no later
        # than needed (its _on_timer re-arms) instead of re-arming per packet.
        if deadline is not None and self._timer is not None and self._timer_at is not None \
                and self._timer_at <= deadline:
            return
        if self._timer is not None:
            self._timer.cancel()
        self._timer_at = deadline
        # epoll rounds its timeout up to the next millisecond, so a handle armed at the deadline runs
        # 0-1 ms late; arm it that much early and treat the deadline as come (_on_timer)
        self._timer = None if deadline is None else self._require_loop().call_at(
            deadline - EPOLL_ROUNDING, self._guarded(self._on_timer))

    def _on_timer(self) -> None:
        deadline = self._timer_at
        self._timer = None
        self._timer_at = None
        engine = self.engine
        if engine is None:
            return
        now = self._require_loop().time()
        # armed EPOLL_ROUNDING early (and asyncio may run a handle up to its clock resolution early):
        # the deadline has come
        if deadline is not None and now < deadline:
            now = deadline
        self._process(engine.handle_timer(now))
        self._rearm()

    def _on_readable(self, ifname: str, sock: VrrpSocket) -> None:
        engine = self.engine
        if engine is None:
            return
        loop = self._require_loop()
        observer = self.observer
        for _ in range(RECV_BATCH):
            received = sock.recv()
            if received is None:
                break
            now = loop.time()
            if sock.protocol == AH_PROTO:
                if observer is not None:
                    self._observe_ah(now, ifname, received)
                outs = engine.receive_ah_packet(ifname, received.payload, now)
                if outs:
                    self._process(outs)
                continue
            payload, src, dst, ttl = received
            if observer is not None:  # one decode, shared by the engine and the observer
                result = engine.decode(payload, src, dst)
                self._observe(Heard(ifname, now, src, dst, ttl, result, payload))
                outs = engine.receive_packet(ifname, src, dst, ttl, payload, now, result)
            else:
                outs = engine.receive_packet(ifname, src, dst, ttl, payload, now)
            if outs:
                self._process(outs)
        self._rearm()

    def _observe_ah(self, now: float, ifname: str, received: Received) -> None:
        """The observer sees the VRRP message inside an AH datagram, like any other advert."""
        packet = ah.parse(received.payload)
        if isinstance(packet, ah.AhPacket):
            result = self.engine.decode(packet.message, packet.src, packet.dst) if self.engine else None
            if result is not None:
                self._observe(Heard(ifname, now, packet.src, packet.dst, packet.ttl, result, packet.message))

    def _on_link_event(self) -> None:
        engine = self.engine
        changes = self._linkwatch.read()
        addresses = self._linkwatch.changed_addresses()
        removed = self._linkwatch.removed_addresses()
        recreated = self._linkwatch.recreated()
        if engine is None or not (changes or addresses or recreated):
            return
        loop = self._require_loop()
        if recreated:
            self._reopen_sockets(recreated)
        for ifname, up in changes:
            self._process(engine.interface_state(ifname, up, loop.time()))
        if addresses:
            self._note_address_changes(addresses)
        guard = self._vipguard
        if guard is not None and any([guard.removed(ifname, gone) for ifname, gone in removed.items()]):
            # after the primaries' refresh (queued above): a VIP flushed with the primary is not put back
            loop.call_soon(self._guarded(guard.restore))
        self._rearm()

    def _reopen_sockets(self, interfaces: set[str]) -> None:
        """An interface was deleted and created again: sockets bound to the old one are deaf and mute."""
        loop = self._require_loop()
        for key in [k for k in self._recv_sockets if k[0] in interfaces]:
            sock = self._recv_sockets.pop(key)
            loop.remove_reader(sock.fileno())
            sock.close()
        for key in [k for k in self._send_only if k[0] in interfaces]:
            self._send_only.pop(key).close()
        self._log(LogLine(f"{', '.join(sorted(interfaces))} created again: reopening its VRRP sockets"))
        try:
            self._open_sockets(self.config)
        except OSError as exc:  # gone again already: the next link event retries
            self._log(LogLine(f"cannot reopen VRRP sockets: {exc}", level="warning"))

    def _is_master(self, name: str) -> bool:
        return self.engine is not None and self.engine.machine(name).state is State.MASTER

    def _has_source(self, inst: VrrpInstance) -> bool:
        """The instance's interface still has an address its adverts can come from (a fresh dump)."""
        if configured_source(inst) is not None:
            return True
        ifname = self.recv_interface(inst)
        index = self._linkwatch.index(ifname) if self._linkwatch is not None else None
        return self._interface_primaries(ifname, [inst], index)[0] is not None

    def _announce_again(self, inst: VrrpInstance) -> None:
        self._host().send_gratuitous_burst(inst, inst.garp_master_repeat,
                                           max(inst.garp_interval, inst.gna_interval), False)

    def _note_address_changes(self, changed: dict[str, set[IPAddress] | None]) -> None:
        """Remember which interfaces may have a new primary; refresh them all on the next loop iteration.

        Each takeover adds VIPs and each VIP echoes back as an address event: those (any
        configured VIP but an owner's) can never be a primary, so they cost nothing here.
        """
        for ifname, addresses in changed.items():
            followers = self._followers.get(ifname)
            if not followers:
                continue
            if addresses is not None:
                families = {i.family for i in followers}
                addresses = {a for a in addresses if a.version in families and a not in self._never_primary}
                if not addresses:
                    continue
            if addresses is None or self._address_dirty.get(ifname, set()) is None:
                self._address_dirty[ifname] = None
            else:
                self._address_dirty.setdefault(ifname, set()).update(addresses)  # type: ignore[union-attr]
        if self._address_dirty and not self._address_refresh_scheduled:
            self._address_refresh_scheduled = True
            self._require_loop().call_soon(self._guarded(self._refresh_dirty_primaries))

    def _refresh_dirty_primaries(self) -> None:
        self._address_refresh_scheduled = False
        dirty, self._address_dirty = self._address_dirty, {}
        if self.engine is not None and not self._cleaned:
            self._refresh_primary_addresses(dirty)
            self._rearm()

    def _refresh_primary_addresses(self, interfaces: Iterable[str]) -> None:
        """An address came or went on `interfaces`: instances that use the interface's primary follow it
        (one netlink dump per interface)."""
        for ifname in interfaces:
            instances = self._followers.get(ifname, [])
            if not instances:
                continue
            index = self._linkwatch.index(ifname) if self._linkwatch is not None else None
            for inst, new in zip(instances, self._interface_primaries(ifname, instances, index), strict=False):
                self._follow_primary(inst, ifname, new)

    def _follow_primary(self, inst: VrrpInstance, ifname: str, new: IPAddress | None) -> None:
        engine, loop = self.engine, self._require_loop()
        if engine is None:
            return
        old = self._primary.get(inst.name)
        if new is None:
            if old is not None and not old.is_unspecified:
                self._log(LogLine(f"Deassigned address {old} from interface {ifname}", detail=True))
                self._log(LogLine(f"({inst.name}) no IPv{inst.family} address left on {ifname}: "
                                  f"adverts cannot be sent until one is added", level="warning"))
                # FAULT; a master resigns from the address it just lost, so _primary changes after
                self._process(engine.address_state(inst.name, False, loop.time()))
                self._primary[inst.name] = _unspecified(inst.family)
            return
        if new == old:
            return
        self._log(LogLine(f"Assigned address {new} for interface {ifname}", detail=True))
        self._primary[inst.name] = new
        self._process(engine.set_primary_address(inst.name, new, loop.time()))
        self._process(engine.address_state(inst.name, True, loop.time()))

    def _on_script_change(self, name: str, ok: bool, exit_status: int | None, timed_out: bool) -> None:
        engine, loop = self.engine, self.loop
        if engine is None or loop is None:
            return
        self._process(engine.script_state(name, ok, loop.time(), exit_status=exit_status, timed_out=timed_out))
        self._rearm()

    def _on_file_value(self, name: str, value: int) -> None:
        engine, loop = self.engine, self.loop
        if engine is None or loop is None:
            return
        self._process(engine.file_value(name, value, loop.time()))
        self._rearm()

    def _on_process_state(self, name: str, ok: bool) -> None:
        engine, loop = self.engine, self.loop
        if engine is None or loop is None:
            return
        self._log(LogLine(f"Track process {name} {'quorum met' if ok else 'quorum lost'}", detail=True))
        self._process(engine.process_state(name, ok, loop.time()))
        self._rearm()

    def _process(self, outs: Iterable[Output]) -> None:
        """Carry out the engine's outputs in order; hand events to the log and the observer."""
        observer = self.observer
        gratuitous_starts: list[VrrpInstance] = []
        for out in outs:
            match out:
                case SendAdvert():
                    self._send_advert(out.instance, out.priority)
                case LogLine():
                    self.log(out)
                case AddVips():
                    inst = self._instances.get(out.instance)
                    if inst is not None and self.host is not None:
                        self.host.add_vips(inst)
                case RemoveVips():
                    if self.host is not None:
                        self.host.remove_vips(out.instance)
                case StartGratuitous():
                    inst = self._instances.get(out.instance)
                    if inst is not None:
                        gratuitous_starts.append(inst)
                case LowerPriorityGratuitous():
                    inst = self._instances.get(out.instance)
                    if inst is not None and self._garp is not None:
                        self._garp.lower_priority(inst)
                case StopGratuitous():
                    if self._garp is not None:
                        self._garp.stop(out.instance)
                case RunNotify():
                    self.notify.run(out, self._instances.get(out.instance))
                case RunGroupNotify():
                    self.notify.run_group(out)
            if observer is not None and isinstance(out, StateChanged | Dropped):
                self._observe(out)
        # after the batch: the engine's "setting VIPs." / "Sending/queueing" lines come first, as in keepalived
        for inst in gratuitous_starts:
            if self._garp is not None and self.engine is not None:
                self._garp.start(inst)

    # --- actions ------------------------------------------------------------------------

    def _send_advert(self, name: str, priority: int) -> None:
        inst = self._instances.get(name)
        engine = self.engine
        if inst is None or engine is None:
            return
        src = self._primary.get(name)
        if src is None or src.is_unspecified:
            return
        key = self.socket_key(inst, self.send_interface(inst))
        sock = self._recv_sockets.get(key) or self._send_only.get(key)
        if sock is None:
            return
        destinations: list[IPAddress] = [p.address for p in inst.unicast_peers] or [
            MCAST_V4 if inst.family == 4 else MCAST_V6]
        now = self._require_loop().time() if self.observer is not None else 0.0
        datagrams = engine.ah_datagrams(name, priority, src, destinations)
        for i, dst in enumerate(destinations):
            payload = engine.advert_bytes(name, priority, src, dst)
            try:
                sock.send(payload if datagrams is None else datagrams[i], dst, src)
            except OSError as exc:
                self._send_failed(inst, key[0], dst, exc)
                continue
            if self._send_errors:
                self._send_errors.discard(name)
            if self.observer is not None:
                self._observe(Heard(key[0], now, src, dst, VRRP_TTL, engine.advert(name, priority), payload,
                                    outgoing=True))

    def _send_failed(self, inst: VrrpInstance, ifname: str, dst: IPAddress, exc: OSError) -> None:
        # rate-limited: one line per instance until a send succeeds again
        if inst.name in self._send_errors:
            return
        self._send_errors.add(inst.name)
        level = "warning" if exc.errno in (errno.ENETDOWN, errno.ENETUNREACH, errno.ENXIO) else "error"
        self._log(LogLine(f"({inst.name}) cannot send advert on {ifname} to {dst}: {exc.strerror or exc}", level=level))

    # --- observer -----------------------------------------------------------------------

    def _observe(self, item: Observation) -> None:
        self._pending.append(item)
        if not self._flush_scheduled:
            self._flush_scheduled = True
            self._require_loop().call_soon(self._flush)

    def _flush(self) -> None:
        self._flush_scheduled = False
        if not self._pending or self.observer is None:
            self._pending.clear()
            return
        batch = tuple(self._pending)
        self._pending.clear()
        try:
            self.observer(batch)
        except Exception as exc:  # the console's bug must not take the router down
            self._log(LogLine(f"observer failed: {exc!r}", level="error"))

    def _snapshot(self) -> None:
        loop = self._require_loop()
        if self.engine is not None:
            now = loop.time()
            self._observe(StatusSnapshot(now, self.wall_time(now), self.engine.status(now)))
        self._snapshot_handle = loop.call_later(SNAPSHOT_PERIOD, self._guarded(self._snapshot))

    # --- signal-triggered dumps ----------------------------------------------------------

    def _dump(self, kind: str) -> None:
        """SIGUSR1 -> data, SIGUSR2 -> stats, as keepalived's /tmp/keepalived.data / .stats."""
        from vrrptui.daemon import dump
        from vrrptui.daemon.control import network_namespace_name, status_reply

        name, title, render = {
            "data": (dump.DATA_FILE, "data", dump.format_data),
            "stats": (dump.STATS_FILE, "stats", dump.format_stats),
        }[kind]
        path = dump.dump_dir() / name
        self._log(LogLine(f"Printing VRRP {title} for process({os.getpid()}) on signal: {path}"))
        namespace = self.control.namespace if self.control is not None else network_namespace_name()
        try:
            dump.write_private(path, render(status_reply(self, namespace)))
        except OSError as exc:
            self._log(LogLine(f"cannot write {path}: {exc.strerror or exc}; set VRRPTUI_DUMP_DIR to a writable "
                              f"directory", level="error"))

    # --- reload -------------------------------------------------------------------------

    def _on_sighup(self) -> None:
        self._require_loop().create_task(self._reload(None))

    def _submit(self, coro: Any) -> concurrent.futures.Future[Any]:
        return asyncio.run_coroutine_threadsafe(coro, self._require_loop())

    async def _reload(self, new_config: Config | None) -> bool:
        """SIGHUP: re-parse; a broken config is logged (file:line) and the running one kept."""
        from vrrptui.daemon.preflight import PreflightError, load_config

        engine, loop = self.engine, self._require_loop()
        if engine is None or self._cleaned:
            return False
        if new_config is None:
            self._log(LogLine("Reloading"))
            self._log(LogLine(f"Opening file '{self.config.path}'."))
            try:
                new_config = load_config(self.config.path, netlink=self.netlink)
            except PreflightError as exc:
                for line in str(exc).splitlines():
                    self._log(LogLine(line, level="error"))
                self._log(LogLine("Reload failed: the configuration above has errors; "
                                  "keeping the running configuration", level="error"))
                return False
            for warning in new_config.warnings:
                self._log(LogLine(str(warning), level="warning"))
        old_config = self.config
        try:
            self._instances.update({i.name: i for i in new_config.instances})
            host = self._host()
            host.create_vmacs(new_config.instances)
            fresh = [i for i in new_config.instances if i.name not in {o.name for o in old_config.instances}]
            host.remove_stale_vips(fresh)
            self._primary.update(self._primary_addresses(new_config))
            self._open_sockets_for_reload(old_config, new_config)
            self.notify.configure(new_config)
            scripts = self.scripts.prepare(new_config)
            outs = engine.reload(new_config, dict(self._primary), loop.time(), disabled_scripts=self.scripts.refused)
            self.config = new_config
            self._process(outs)
            self._rearm()
        except (OSError, LookupError, ValueError) as exc:
            self._log(LogLine(f"Reload failed while applying the new configuration: {exc}", level="error"))
            self._follow_primaries(self.config)
            return False
        # instances that are gone: whatever VIPs we still hold for them go too
        current = {i.name for i in new_config.instances}
        self._host().remove_all_vips(keep=current)
        self._host().routing.reload(old_config, new_config)
        self._instances = {i.name: i for i in new_config.instances}
        self._primary = {k: v for k, v in self._primary.items() if k in current}
        self._open_sockets(new_config)
        self._host().delete_vmacs(keep=new_config)
        await self.scripts.replace(new_config, scripts)
        self.files.replace(new_config)
        self.processes.replace(new_config)
        self.reloads += 1
        self._log(LogLine("Reload complete"))
        return True

    def _open_sockets_for_reload(self, old: Config, new: Config) -> None:
        # open what the new config needs but keep the old sockets until the engine let go of them
        merged = Config(path=new.path, instances=tuple({**{i.name: i for i in old.instances},
                                                         **{i.name: i for i in new.instances}}.values()))
        self._open_sockets(merged)

    # --- stop, crash, cleanup ----------------------------------------------------------

    def _request_stop(self) -> None:
        self._stop_requested = True
        if self._stop_event is not None:
            self._stop_event.set()

    def _guarded(self, func: Callable[..., None]) -> Callable[..., None]:
        """Callbacks on the loop: an exception is a crash (logged, cleanup, exit 1), never silent."""

        def call(*args: Any) -> None:
            try:
                func(*args)
            except Exception as exc:
                self._crashed(exc)

        return call

    def _crashed(self, exc: BaseException) -> None:
        self.exit_code = 1
        self._log(LogLine(f"internal error, stopping: {exc!r}", level="error"))
        for line in traceback.format_exception(exc):
            for part in line.rstrip().splitlines():
                self._log(LogLine(part, detail=True, level="error"))
        self._request_stop()

    def _on_loop_exception(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        exc = context.get("exception")
        if isinstance(exc, Exception):
            self._crashed(exc)
        else:
            self._log(LogLine(f"internal error: {context.get('message')}", level="error"))

    def _log(self, line: LogLine) -> None:
        """The runtime's own lines (the console reads them from the log, as it reads the engine's)."""
        try:
            self.log(line)
        except Exception:
            pass

    async def _cleanup(self) -> None:
        """Resign, remove our VIPs, delete VMACs, close everything. Each step runs even if one fails."""
        if self._cleaned:
            return
        self._cleaned = True
        self._log(LogLine("Stopping"))
        for step in (self._stop_timers, self._close_control):
            await self._step(step)
        await self._step(self._resign)
        if self.host is not None:
            await self._step(self.host.remove_all_vips)
            await self._step(self.host.routing.remove_static)
        await self._step(self.scripts.stop)
        await self._step(self.files.stop)
        await self._step(self.processes.stop)
        await self._step(lambda: self.notify.drain(timeout=3.0))
        await self._step(self.notify.close)
        await self._step(self._close_sockets)
        if self.host is not None:
            await self._step(self.host.delete_vmacs)
        if self._pending and self.observer is not None:
            self._flush()
        if self.netlink is not None:
            await self._step(self.netlink.close)
            self.netlink = None

    async def _step(self, step: Callable[[], Any]) -> None:
        try:
            result = step()
            if asyncio.iscoroutine(result):
                await result
        except Exception as exc:
            self.exit_code = self.exit_code or 1
            self._log(LogLine(f"cleanup step {getattr(step, '__name__', step)!r} failed: {exc!r}", level="error"))

    def _stop_timers(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._snapshot_handle is not None:
            self._snapshot_handle.cancel()
            self._snapshot_handle = None
        if self._garp is not None:
            self._garp.stop_all()

    async def _close_control(self) -> None:
        if self.control is not None:
            await self.control.close()
            self.control = None

    def _resign(self) -> None:
        """engine.shutdown: priority-0 adverts from masters, RemoveVips, notify STOP.

        If the engine itself is what crashed, masters still send a priority-0 advert
        built here, so the backups take over at once (RFC 5798 6.4.3) instead of after
        Master_Down_Interval.
        """
        engine, loop = self.engine, self._require_loop()
        if engine is None:
            return
        try:
            self._process(engine.shutdown(loop.time()))
        except Exception as exc:
            self._log(LogLine(f"engine shutdown failed ({exc!r}): resigning without it", level="error"))
            for name in self.host.holding() if self.host is not None else []:
                self._emergency_resign(name)

    def _emergency_resign(self, name: str) -> None:
        inst = self._instances.get(name)
        src = self._primary.get(name)
        if inst is None or src is None:
            return
        key = self.socket_key(inst, self.send_interface(inst))
        sock = self._recv_sockets.get(key) or self._send_only.get(key)
        if sock is None or key[2] == AH_PROTO:  # an AH advert needs the engine's sequence number
            return
        auth = inst.authentication.auth_pass if inst.authentication and inst.version == 2 else None
        advert = Advert.from_fields(inst.version, inst.vrid, 0, inst.advert_int,
                                    [v.address for v in inst.advertised_vips], auth_pass=auth)
        for dst in [p.address for p in inst.unicast_peers] or [MCAST_V4 if inst.family == 4 else MCAST_V6]:
            try:
                sock.send(encode(advert, src, dst), dst, src)
                self._log(LogLine(f"({name}) sent 0 priority"))
            except (OSError, ValueError) as exc:
                self._log(LogLine(f"({name}) cannot send priority-0 advert: {exc}", level="error"))

    def _close_sockets(self) -> None:
        loop = self._require_loop()
        for sock in self._recv_sockets.values():
            try:
                loop.remove_reader(sock.fileno())
            except (ValueError, OSError):
                pass
            sock.close()
        self._recv_sockets.clear()
        for sock in self._send_only.values():
            sock.close()
        self._send_only.clear()
        if self._linkwatch is not None:
            try:
                loop.remove_reader(self._linkwatch.fileno())
            except (ValueError, OSError):
                pass
            self._linkwatch.close()
            self._linkwatch = None


def _unspecified(family: int) -> IPAddress:
    """The placeholder source of an instance whose interface has no address: nothing is sent."""
    return ipaddress.ip_address("0.0.0.0" if family == 4 else "::")
