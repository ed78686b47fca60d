"""How a runtime ends: stop requests, crashes, and the resignation every ending goes through.

A crash anywhere on the loop (a callback, the engine, an unhandled task) is logged with
its traceback and becomes a stop with exit code 1: cleanup always runs. Cleanup steps run
one after another, each even if an earlier one failed. Masters resign with a priority-0
advert (RFC 5798 6.4.3) so backups take over at once; if the engine itself is what
failed, the advert is sent without it.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import traceback
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from vrrptui.config.model import VrrpInstance
from vrrptui.daemon.sockpool import SocketPool, destinations
from vrrptui.engine.engine import Engine
from vrrptui.engine.outputs import LogFn, LogLine, Output
from vrrptui.net.sockets import AH_PROTO, VrrpSocket
from vrrptui.protocol.packet import IPAddress

if TYPE_CHECKING:
    from vrrptui.daemon.stale import Resign


class Lifecycle:
    def __init__(self, log: LogFn) -> None:
        self._log = log
        self.exit_code = 0
        self.stop_requested = False
        self._stop_event: asyncio.Event | None = None

    async def serve(self, seconds: float | None = None) -> bool:
        """Until a stop is requested (before or while serving), or `seconds` passed: True when stopped."""
        if self._stop_event is None:
            self._stop_event = asyncio.Event()
            if self.stop_requested:
                self._stop_event.set()
        try:
            async with asyncio.timeout(seconds):  # keeps a cancel, which 3.11's wait_for can drop
                await self._stop_event.wait()
        except TimeoutError:
            return False
        return True

    def request_stop(self) -> None:
        self.stop_requested = True
        if self._stop_event is not None:
            self._stop_event.set()

    def guarded(self, func: Callable[..., None]) -> Callable[..., None]:
        """A callback for the loop: an exception is a crash (logged, cleanup, exit 1), never silent."""

        def call(*args: Any) -> None:
            try:
                func(*args)
            except Exception as exc:
                self.crashed(exc)

        return call

    def crashed(self, exc: BaseException) -> None:
        self.exit_code = 1
        self._log(LogLine(f"internal error, stopping: {exc!r}", level="error"))
        for line in traceback.format_exception(exc):
            for part in line.rstrip().splitlines():
                self._log(LogLine(part, detail=True, level="error"))
        self.request_stop()

    def on_loop_exception(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        exc = context.get("exception")
        if isinstance(exc, Exception):
            self.crashed(exc)
        else:
            self._log(LogLine(f"internal error: {context.get('message')}", level="error"))

    async def run_steps(self, steps: Iterable[Callable[[], Any]]) -> None:
        for step in steps:
            try:
                result = step()
                if asyncio.iscoroutine(result):
                    await result
            except Exception as exc:
                self.exit_code = self.exit_code or 1
                self._log(LogLine(f"cleanup step {getattr(step, '__name__', step)!r} failed: {exc!r}",
                                  level="error"))


def on_loop(loop: asyncio.AbstractEventLoop, func: Callable[[], Any]) -> concurrent.futures.Future[Any]:
    """Call `func` on the loop's thread, from any thread; its result or exception in the Future."""
    future: concurrent.futures.Future[Any] = concurrent.futures.Future()

    def call() -> None:
        if future.set_running_or_notify_cancel():
            try:
                future.set_result(func())
            except Exception as exc:
                future.set_exception(exc)

    loop.call_soon_threadsafe(call)
    return future


def resign(engine: Engine, now: float, apply: Callable[[Iterable[Output]], None], holding: list[str],
           instances: dict[str, VrrpInstance], sources: dict[str, IPAddress], pool: SocketPool, log: LogFn) -> None:
    """engine.shutdown: priority-0 adverts from masters, RemoveVips, notify STOP; without the engine if it fails."""
    try:
        apply(engine.shutdown(now))
    except Exception as exc:
        log(LogLine(f"engine shutdown failed ({exc!r}): resigning without it", level="error"))
        for name in holding:
            inst, src = instances.get(name), sources.get(name)
            if inst is not None and src is not None:
                _emergency_resign(engine, inst, src, pool, log)


def _emergency_resign(engine: Engine, inst: VrrpInstance, src: IPAddress, pool: SocketPool, log: LogFn) -> None:
    for sock, dst, advert in _resign_packets(engine, inst, src, pool):
        try:
            sock.send(advert, dst, src)
            log(LogLine(f"({inst.name}) sent 0 priority"))
        except (OSError, ValueError, LookupError) as exc:
            log(LogLine(f"({inst.name}) cannot send priority-0 advert: {exc}", level="error"))


def resign_adverts(engine: Engine, holding: list[str], instances: dict[str, VrrpInstance],
                   sources: dict[str, IPAddress], pool: SocketPool) -> list[Resign]:
    """The priority-0 adverts the masters holding VIPs would send on their way out, as the VIP journal
    records them for the guardian: (interface, family, source, destination, advert, IP protocol)."""
    adverts = []
    for name in holding:
        inst, src = instances.get(name), sources.get(name)
        if inst is not None and src is not None:
            adverts += [(sock.ifname, inst.family, str(src), str(dst), advert, sock.protocol)
                        for sock, dst, advert in _resign_packets(engine, inst, src, pool)]
    return adverts


def _resign_packets(engine: Engine, inst: VrrpInstance, src: IPAddress,
                    pool: SocketPool) -> list[tuple[VrrpSocket, IPAddress, bytes]]:
    """(socket, destination, priority-0 advert) of each advert INST sends; none without a socket. AH: whole
    IPv4 datagrams numbered ahead of the adverts (engine.ah_resign_datagrams)."""
    sock = pool.for_sending(inst)[1]
    if sock is None:
        return []
    dsts = destinations(inst)
    if sock.protocol == AH_PROTO:
        try:
            datagrams = engine.ah_resign_datagrams(inst.name, src, dsts) or []
        except (ValueError, LookupError):
            return []
        return [(sock, dst, datagram) for dst, datagram in zip(dsts, datagrams, strict=True)]
    packets = []
    for dst in dsts:
        try:
            packets.append((sock, dst, engine.advert_bytes(inst.name, 0, src, dst)))
        except (ValueError, LookupError):
            continue
    return packets
