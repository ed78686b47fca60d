"""Sending an instance's advert: from its source address, to its peers or its group, on its socket."""

from __future__ import annotations

import asyncio
import errno
from collections.abc import Callable, Mapping

from vrrptui.config.model import VrrpInstance
from vrrptui.daemon.feed import ObserverFeed
from vrrptui.daemon.sockpool import SocketPool, destinations
from vrrptui.engine.engine import Engine
from vrrptui.engine.outputs import LogFn, LogLine, Output, SendAdvert
from vrrptui.protocol.packet import VRRP_TTL, IPAddress
from vrrptui.records import Heard


class AdvertSender:
    def __init__(self, loop: asyncio.AbstractEventLoop, engine: Engine, sources: dict[str, IPAddress],
                 pool: SocketPool, feed: Callable[[], ObserverFeed | None], log: LogFn) -> None:
        self._loop, self._engine, self._sources, self._pool, self._feed, self._log = (
            loop, engine, sources, pool, feed, log)
        self._failing: set[str] = set()  # instances whose last send failed (logged once)

    def resign_first(self, batch: list[Output], instances: Mapping[str, VrrpInstance]) -> None:
        """Send a batch's priority-0 adverts before anything else in it (its log lines, observer events)."""
        for out in batch:
            if isinstance(out, SendAdvert) and out.priority == 0 and (inst := instances.get(out.instance)):
                self.send(inst, 0)

    def prepare(self, inst: VrrpInstance, priority: int) -> None:
        """Encode the adverts the instance would send at `priority` now (a backup that may take over): its
        first advert as master then costs no encoding (the engine keeps them)."""
        src = self._sources.get(inst.name)
        if src is not None and not src.is_unspecified:
            for dst in destinations(inst):
                self._engine.advert_bytes(inst.name, priority, src, dst)

    def send(self, inst: VrrpInstance, priority: int) -> None:
        name, engine = inst.name, self._engine
        src = self._sources.get(name)
        if src is None or src.is_unspecified:
            return
        key, sock = self._pool.for_sending(inst)
        if sock is None:
            return
        dsts = destinations(inst)
        feed = self._feed()
        now = self._loop.time() if feed is not None else 0.0
        datagrams = engine.ah_datagrams(name, priority, src, dsts)
        for i, dst in enumerate(dsts):
            payload = engine.advert_bytes(name, priority, src, dst)
            try:
                sock.send(payload if datagrams is None else datagrams[i], dst, src)
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
