"""Where each instance's adverts come from (RFC 5798 5.1.1.2 / 5.1.2.2), and following it.

`unicast_src_ip` / `mcast_src_ip` when configured, else the primary address of the
instance's interface for its family: one netlink dump per interface, whatever the number
of instances on it, never a VIP (its own, another instance's, or one we added). When
addresses come and go, the interfaces concerned are refreshed once per loop iteration.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable

from vrrptui.config.model import Config, VrrpInstance
from vrrptui.daemon.host import configured_source
from vrrptui.daemon.sockpool import recv_interface
from vrrptui.engine.outputs import LogFn, LogLine
from vrrptui.net.netlink import Netlink, choose_primary
from vrrptui.protocol.packet import IPAddress

Change = tuple[VrrpInstance, str, IPAddress | None]  # an instance, its interface, its new primary (None: none)


def unspecified(family: int) -> IPAddress:
    """The placeholder source of an instance whose interface has no address: nothing is sent."""
    return ipaddress.ip_address("0.0.0.0" if family == 4 else "::")


class SourceAddresses:
    def __init__(self, netlink: Netlink, log: LogFn) -> None:
        self._netlink = netlink
        self._log = log
        self.primary: dict[str, IPAddress] = {}
        self._followers: dict[str, list[VrrpInstance]] = {}  # interface -> instances sending from its primary
        self._never_primary: frozenset[IPAddress] = frozenset()  # VIPs (not an owner's): never a source
        self._dirty: dict[str, set[IPAddress] | None] = {}  # coalesced address events

    def follow(self, config: Config) -> None:
        """Which instances take their source from which interface's primary address."""
        self._followers = {}
        for inst in config.instances:
            ifname = recv_interface(inst)
            if ifname and configured_source(inst) is None:
                self._followers.setdefault(ifname, []).append(inst)
        # an address owner's VIP is usually the interface's own address: it may well be the primary
        self._never_primary = frozenset(v.address for i in config.instances if not i.owner for v in i.all_vips)

    def compute(self, config: Config) -> dict[str, IPAddress]:
        """Every instance's source now (follow() first)."""
        self.follow(config)
        result: dict[str, IPAddress] = {}
        for inst in config.instances:
            configured = configured_source(inst)
            if configured is not None:
                result[inst.name] = configured
        for ifname, instances in self._followers.items():
            for inst, address in zip(instances, self.interface_primaries(ifname, instances, None), strict=True):
                result[inst.name] = address if address is not None else self._none_on(inst, ifname)
        for inst in config.instances:
            if inst.name not in result:  # no interface at all
                result[inst.name] = self._none_on(inst, "(no interface)")
        return result

    def followers(self, ifname: str) -> list[VrrpInstance]:
        """The instances whose source is `ifname`'s primary address."""
        return self._followers.get(ifname, [])

    def interface_primaries(self, ifname: str, instances: list[VrrpInstance], index: int | None
                            ) -> list[IPAddress | None]:
        """Each instance's primary on `ifname` from one dump."""
        if index is None:
            index = self._netlink.link_index(ifname)
        entries = self._netlink.interface_addresses(ifname, index) if index is not None else None
        if entries is None or index is None:
            return [None] * len(instances)
        vips = self._never_primary | self._netlink.added_on(index)
        # an address owner's VIP is the interface's own address (RFC 5798 1.6): its source, as keepalived's
        return [choose_primary(entries, inst.family, vips if inst.owner else vips | {v.address for v in inst.all_vips})
                for inst in instances]

    def has_source(self, inst: VrrpInstance, index: int | None) -> bool:
        """The instance's interface still has an address its adverts can come from (a fresh dump)."""
        if configured_source(inst) is not None:
            return True
        return self.interface_primaries(recv_interface(inst), [inst], index)[0] is not None

    def note(self, changed: dict[str, set[IPAddress] | None]) -> bool:
        """Remember which interfaces may have a new primary; True when a refresh is now due.

        Each takeover adds VIPs and each VIP echoes back as an address event: those (any
        configured VIP but an owner's) can never be a primary, so they cost nothing here.
        """
        due = not self._dirty
        for ifname, addresses in changed.items():
            followers = self._followers.get(ifname)
            if not followers:
                continue
            if addresses is not None:
                families = {i.family for i in followers}
                addresses = {a for a in addresses if a.version in families and a not in self._never_primary}
                if not addresses:
                    continue
            known = self._dirty.get(ifname, set())
            if addresses is None or known is None:
                self._dirty[ifname] = None
            else:
                known.update(addresses)
                self._dirty[ifname] = known
        return due and bool(self._dirty)

    def changes(self, index_of: Callable[[str], int | None]) -> Iterable[Change]:
        """The primaries of the interfaces noted since the last call, one dump each."""
        dirty, self._dirty = self._dirty, {}
        for ifname in dirty:
            instances = self._followers.get(ifname, [])
            if instances:
                primaries = self.interface_primaries(ifname, instances, index_of(ifname))
                yield from ((inst, ifname, new) for inst, new in zip(instances, primaries, strict=True))

    def _none_on(self, inst: VrrpInstance, ifname: str) -> IPAddress:
        self._log(LogLine(f"({inst.name}) no IPv{inst.family} address on {ifname}: "
                          f"adverts cannot be sent until one is added", level="warning"))
        return unspecified(inst.family)
