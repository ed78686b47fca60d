"""Put back a VIP that someone else deleted from a master (`ip addr del`, a network script).

A master whose VIP vanished still advertises, so no backup takes over and nobody answers
for the address. keepalived bounces through BACKUP to re-add it (~60 ms); here the VIP
goes back at once and is announced again. Only VIPs this process added count, and only
while their instance is MASTER and its interface still has a source address: when the
kernel flushed the VIP with the primary address, the instance goes to FAULT instead and
hands over (see VrrpMachine.address_state).

    guard = VipGuard(host, instance, is_master, has_source, announce, log)
    guard.removed("eth0", {IPv4Address("192.168.1.100")})   # from RTM_DELADDR
    guard.restore()                                           # after primaries were refreshed
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from vrrptui.config.model import VirtualAddress, VrrpInstance
from vrrptui.daemon.host import HostChanges
from vrrptui.engine.outputs import LogFn, LogLine
from vrrptui.protocol.packet import IPAddress



class VipGuard:
    def __init__(
        self,
        host: HostChanges,
        instance: Callable[[str], VrrpInstance | None],
        is_master: Callable[[str], bool],
        has_source: Callable[[VrrpInstance], bool],
        announce: Callable[[VrrpInstance], None],
        log: LogFn,
    ) -> None:
        self._host = host
        self._instance = instance
        self._is_master = is_master
        self._has_source = has_source
        self._announce = announce
        self._log = log
        self._pending: dict[str, list[tuple[VirtualAddress, str]]] = {}  # instance -> (VIP, default dev)

    def removed(self, ifname: str, addresses: Iterable[IPAddress]) -> bool:
        """Addresses deleted from `ifname`: remember those that were our VIPs; True if any was."""
        gone = set(addresses)
        found = False
        for name, added in self._host.added_vips.items():
            for vip, dev_default in added:
                if vip.address in gone and (vip.dev or dev_default) == ifname:
                    self._pending.setdefault(name, []).append((vip, dev_default))
                    found = True
        return found

    def restore(self) -> None:
        """Re-add the remembered VIPs of instances still MASTER with a source, and announce them."""
        pending, self._pending = self._pending, {}
        for name, vips in pending.items():
            inst = self._instance(name)
            still_ours = [(v, d) for v, d in vips if (v, d) in self._host.added_vips.get(name, [])]
            if inst is None or not still_ours or not self._is_master(name) or not self._has_source(inst):
                continue
            restored = False
            for vip, dev_default in still_ours:
                try:
                    self._host.netlink.add_vip(vip, dev_default)
                except (OSError, LookupError) as exc:
                    self._log(LogLine(f"({name}) cannot put back VIP {vip} on {vip.dev or dev_default}: {exc}",
                                      level="error"))
                    continue
                restored = True
                self._log(LogLine(f"({name}) VIP {vip} was deleted from {vip.dev or dev_default} "
                                  f"while MASTER: added it back", level="warning"))
            if restored:
                self._announce(inst)  # gratuitous ARP / NA: clients may have asked in between
