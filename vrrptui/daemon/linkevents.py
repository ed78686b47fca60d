"""What netlink says about the host's links and addresses, carried to the engine.

Link up/down goes to the engine at once; an interface deleted and created again gets its
VRRP sockets reopened; a VMAC set down or deleted (by hand, or with its base) is brought
back as soon as its base exists, without a FAULT when that is at once; address changes are
coalesced and each interface's primary refreshed once on the next loop iteration (an
instance that loses its last address goes FAULT and resigns from it); a VIP deleted by
hand is put back by the VipGuard; any link message makes the backups' takeovers (VIP
requests, GARP frames: indexes and MACs) be built again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable

from vrrptui.config.model import Config, VrrpInstance
from vrrptui.daemon.host import HostChanges
from vrrptui.daemon.sockpool import SocketPool
from vrrptui.daemon.sources import SourceAddresses, unspecified
from vrrptui.daemon.vipguard import VipGuard
from vrrptui.engine.engine import Engine
from vrrptui.engine.outputs import LogFn, LogLine, Output
from vrrptui.net.linkwatch import LinkWatcher
from vrrptui.protocol.packet import IPAddress


class LinkEvents:
    def __init__(self, loop: asyncio.AbstractEventLoop, engine: Engine, config: Callable[[], Config],
                 sources: SourceAddresses, pool: SocketPool, process: Callable[[Iterable[Output]], None],
                 log: LogFn, guarded: Callable[[Callable[..., None]], Callable[..., None]], host: HostChanges) -> None:
        self._loop, self._engine, self._config, self._host = loop, engine, config, host
        self._sources, self._pool, self._process, self._log = sources, pool, process, log
        self._guarded = guarded
        self.guard: VipGuard | None = None
        self.prepare_takeovers: Callable[[], None] | None = None  # every backup's takeover built again
        self._closed = False
        self._remade: set[str] = set()  # VMACs created again, not reported up yet: their downs are not faults
        self._routes_due: set[str] = set()  # VMACs brought back whose routes go back after their VIPs
        self._failed: set[str] = set()  # VMACs that could not be brought back (name taken): down for the engine
        self._noted_at: float | None = None  # when the first address change the queued refresh reads arrived
        self._watch = LinkWatcher(addresses=True)
        loop.add_reader(self._watch.fileno(), guarded(self._on_event))

    def index(self, ifname: str) -> int | None:
        return self._watch.index(ifname)

    def has_source(self, inst: VrrpInstance) -> bool:
        return self._sources.has_source(inst, self.index(inst.unicast_src_dev or inst.interface or ""))

    def report_down_at_start(self, config: Config) -> None:
        """Interfaces the instances use (theirs, their VMACs, tracked ones) that are down already."""
        names = {n for i in config.instances
                 for n in (i.interface, i.use_vmac and i.vmac_interface, *(t.name for t in i.track_interfaces)) if n}
        for ifname in names:
            if not self._host.netlink.link_is_up(ifname):
                self._process(self._engine.interface_state(ifname, False, self._loop.time()))

    def close(self) -> None:
        self._closed = True
        try:
            self._loop.remove_reader(self._watch.fileno())
        except (ValueError, OSError):
            pass
        self._watch.close()

    def _on_event(self) -> None:
        watch, engine, at = self._watch, self._engine, self._loop.time()
        changes = self._keep_vmacs(watch.read())
        addresses = watch.changed_addresses()
        removed = watch.removed_addresses()
        recreated = watch.recreated()
        touched = watch.touched()
        if not (changes or addresses or recreated or touched):
            return
        if touched:  # the backups' takeovers were built for the links as they were: built again below
            self._host.forget_prepared()
        if recreated:
            self._pool.reopen(recreated, self._config().instances)
        # a link-local that came or went (the kernel may drop and add it within one batch): the groups are checked
        rejoin = [n for n, got in addresses.items()
                  if n not in recreated and (got is None or any(a.version == 6 and a.is_link_local for a in got))]
        if rejoin:
            self._pool.rejoin(rejoin)
        for ifname, up in changes:
            self._process(engine.interface_state(ifname, up, self._loop.time()))
        for ifname, gone in removed.items():
            self._sources_flushed(ifname, gone, at)
        if addresses and self._sources.note(addresses):
            if self._noted_at is None:
                self._noted_at = at
            self._loop.call_soon(self._guarded(self._refresh))
        guard = self.guard
        if guard is not None and any([guard.removed(ifname, gone) for ifname, gone in removed.items()]):
            # after the primaries' refresh (queued above): a VIP flushed with the primary is not put back
            self._loop.call_soon(self._guarded(guard.restore))
        if self._routes_due:  # after the VIPs (queued above): a route may use one as `src`
            self._loop.call_soon(self._guarded(self._restore_routes))
        if touched and self.prepare_takeovers is not None:
            self._loop.call_soon(self._guarded(self.prepare_takeovers))
        self._process(())

    def _restore_routes(self) -> None:
        names, self._routes_due = self._routes_due, set()
        if not self._closed:
            self._host.routing.restore_on(names)

    def _keep_vmacs(self, changes: list[tuple[str, bool]]) -> list[tuple[str, bool]]:
        """Our VMACs that vanished, were replaced by another link of that name, or went down on a base that is
        up, are brought back at once (before the VipGuard puts their VIPs back) and their downs are not faults;
        the engine hears only what failed, and one that failed stays down for it (an interface that took the
        VMAC's name is not the VMAC) until it is brought back."""
        host, watch = self._host, self._watch
        if not host.vmacs:
            return changes
        self._failed &= host.vmacs.keys()  # a reload may have dropped some
        states = watch.states()
        bases = {i.vmac_interface: i.interface for i in self._config().instances if i.use_vmac and i.interface}
        broken = {n for n, index in host.vmacs.items() if watch.index(n) != index}
        broken |= {n for n, up in changes if not up and n in host.vmacs and states.get(bases.get(n, ""), False)}
        broken = {n for n in broken if n in bases and watch.index(bases[n]) is not None}
        if broken:
            fixed = host.restore_vmacs(self._config().instances, broken)
            self._remade = (self._remade - broken) | fixed
            self._routes_due |= fixed
            changes += watch.read()  # the new links' events, already queued
            failed = broken - fixed
            changes += [(n, False) for n in sorted(failed - self._failed) if (n, False) not in changes]
            self._failed = (self._failed - fixed) | failed
        kept = []
        for ifname, up in changes:
            if up and ifname in self._failed:
                continue
            if ifname in self._remade:
                if not up:
                    continue
                self._remade.discard(ifname)
            kept.append((ifname, up))
        return kept

    def _sources_flushed(self, ifname: str, gone: set[IPAddress], at: float) -> None:
        """The source address went together with the VIPs (the kernel flushes a deleted primary's secondaries):
        resign now; the refresh queued for the interface finds any other address later."""
        for inst in self._sources.followers(ifname):
            if self._sources.primary.get(inst.name) in gone and any(v.address in gone for v in inst.all_vips):
                self._follow(inst, ifname, None, at)

    def _refresh(self) -> None:
        """The primaries of the interfaces whose addresses changed, each read with one dump; the engine dates the
        change when netlink told us (its Master_Down_Timer after an address comes back counts from then)."""
        at, self._noted_at = self._noted_at, None
        if self._closed:
            return
        now = self._loop.time() if at is None else at
        for inst, ifname, new in list(self._sources.changes(self.index)):
            self._follow(inst, ifname, new, now)
        self._process(())

    def _follow(self, inst: VrrpInstance, ifname: str, new: IPAddress | None, now: float) -> None:
        engine, primary = self._engine, self._sources.primary
        old = primary.get(inst.name)
        if new is None:
            if old is not None and not old.is_unspecified:
                # FAULT; a master resigns from the address it just lost (first), so the source changes after
                self._process(engine.address_state(inst.name, False, now))
                primary[inst.name] = unspecified(inst.family)
                self._log(LogLine(f"Deassigned address {old} from interface {ifname}", detail=True))
                self._log(LogLine(f"({inst.name}) no IPv{inst.family} address left on {ifname}: "
                                  f"adverts cannot be sent until one is added", level="warning"))
            return
        if new == old:
            return
        self._log(LogLine(f"Assigned address {new} for interface {ifname}", detail=True))
        primary[inst.name] = new
        self._process(engine.set_primary_address(inst.name, new, now))
        self._process(engine.address_state(inst.name, True, now))
