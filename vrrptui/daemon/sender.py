"""Sending an instance's advert: from its source address, to its peers or its group, on its socket."""

from __future__ import annotations

import asyncio
import errno
from collections.abc import Callable, Mapping

from typing import NamedTuple

from vrrptui.config.model import VrrpInstance
from vrrptui.daemon.earlylisten import SocketKey
from vrrptui.daemon.feed import ObserverFeed
from vrrptui.daemon.sockpool import SocketPool, destinations
from vrrptui.engine.ah_state import uses_ah
from vrrptui.engine.engine import Engine
from vrrptui.engine.outputs import LogFn, LogLine, Output, SendAdvert
from vrrptui.net.sockets import VrrpSocket
from vrrptui.protocol.packet import VRRP_TTL, IPAddress
from vrrptui.records import Heard


class Ready(NamedTuple):
    """An instance's next advert round, built ahead: used while its priority, source, socket and the engine's
    adverts (a reload rebuilds them) are still the ones it was built with."""

    priority: int
    src: IPAddress
    key: SocketKey
    sock: VrrpSocket
    epoch: int
    sends: tuple[tuple[bytes, IPAddress, bytes], ...]  # (what is sent, to whom, the VRRP message in it)


class AdvertSender:
    def __init__(self, loop: asyncio.AbstractEventLoop, engine: Engine, sources: dict[str, IPAddress],
                 pool: SocketPool, feed: Callable[[], ObserverFeed | None], log: LogFn,
                 journal_again: Callable[[], None] | None = None) -> None:
        self._loop, self._engine, self._sources, self._pool, self._feed, self._log = (
            loop, engine, sources, pool, feed, log)
        self._journal_again = journal_again  # an AH round caught up with the journalled priority-0 round
        self._failing: set[str] = set()  # instances whose last send failed (logged once)
        self._ready: dict[str, Ready] = {}

    def resign_first(self, batch: list[Output], instances: Mapping[str, VrrpInstance]) -> None:
        """Send a batch's priority-0 adverts before anything else in it (its log lines, observer events)."""
        for out in batch:
            if isinstance(out, SendAdvert) and out.priority == 0 and (inst := instances.get(out.instance)):
                self.send(inst, 0)

    def prepare(self, inst: VrrpInstance, priority: int) -> None:
        """The round the instance would send at `priority` next (a backup's first as master, a master's
        priority 0), built now. Not for AH (each round takes the next sequence number)."""
        self._ready.pop(inst.name, None)
        if not uses_ah(inst) and (ready := self._round(inst, priority)) is not None:
            self._ready[inst.name] = ready

    def _round(self, inst: VrrpInstance, priority: int) -> Ready | None:
        """The instance's advert round at `priority` now: its socket, destinations and encoded adverts (AH:
        whole IPv4 datagrams, with the next sequence number). None without a source address or a socket."""
        name, engine = inst.name, self._engine
        src = self._sources.get(name)
        if src is None or src.is_unspecified:
            return None
        key, sock = self._pool.for_sending(inst)
        if sock is None:
            return None
        dsts = destinations(inst)
        datagrams = engine.ah_datagrams(name, priority, src, dsts)
        if datagrams is not None and self._journal_again is not None and engine.ah_reserve_used(name):
            self._journal_again()
        messages = [engine.advert_bytes(name, priority, src, dst) for dst in dsts]
        sends = tuple(zip(messages if datagrams is None else datagrams, dsts, messages, strict=True))
        return Ready(priority, src, key, sock, engine.advert_epoch, sends)

    def send(self, inst: VrrpInstance, priority: int) -> None:
        name, engine = inst.name, self._engine
        ready = self._ready.get(name)
        if ready is None or ready.priority != priority or ready.epoch != engine.advert_epoch \
                or self._sources.get(name) is not ready.src or self._pool.sending(ready.key) is not ready.sock:
            ready = self._round(inst, priority)
            if ready is None:
                return
        src, key, sock = ready.src, ready.key, ready.sock
        feed = self._feed()
        now = self._loop.time() if feed is not None else 0.0
        for wire, dst, payload in ready.sends:
            try:
                sock.send(wire, dst, src)
            except OSError as exc:
                self._failed(inst, key[0], dst, exc)
                continue
            if self._failing:
                self._failing.discard(name)
            if feed is not None:
                feed(Heard(key[0], now, src, dst, VRRP_TTL, engine.advert(name, priority), payload, outgoing=True))

    def _failed(self, inst: VrrpInstance, ifname: str, dst: IPAddress, exc: OSError) -> None:
        if inst.name in self._failing:  # one line per instance until a send succeeds again
            return
        self._failing.add(inst.name)
        level = "warning" if exc.errno in (errno.ENETDOWN, errno.ENETUNREACH, errno.ENXIO) else "error"
        self._log(LogLine(f"({inst.name}) cannot send advert on {ifname} to {dst}: {exc.strerror or exc}",
                          level=level))
