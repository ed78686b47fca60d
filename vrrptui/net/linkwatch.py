"""Interface up/down events from rtnetlink (RTMGRP_LINK), for FAULT on link loss.

With `addresses=True` it also listens to RTMGRP_IPV4_IFADDR / RTMGRP_IPV6_IFADDR and
remembers which addresses were added or removed on which interface (`address_changes()`
for the names, `changed_addresses()` for the addresses), so the runtime can pick up a new
primary (source) address as keepalived does, and skip the echoes of its own VIPs.

A plain netlink socket, parsed with `vrrptui.net.rtnl`'s helpers (no pyroute2 on the event
path). "Up" means administratively up and operationally running (carrier present), the same
test as Netlink.link_is_up.
Needs no privileges; runs in the caller's network namespace.
"""

from __future__ import annotations

import errno
import ipaddress
import select
import socket

from vrrptui.net.rtnl import (
    IFADDRMSG, IFINFOMSG, IFLA_IFNAME, NETLINK_ROUTE, NLM_F_DUMP, NLM_F_REQUEST, NLMSG_DONE, NLMSG_ERROR, NLMSGHDR,
    RTM_GETLINK, RTM_NEWADDR, RTM_NEWLINK, attributes, messages, parse_address, text,
)

RTMGRP_LINK = 0x1
RTMGRP_IPV4_IFADDR = 0x10
RTMGRP_IPV6_IFADDR = 0x100
RTM_DELLINK = 17
RTM_DELADDR = 21
IFF_UP = 0x1
IFF_RUNNING = 0x40

_RCVBUF = 1 << 20
_DUMP_TIMEOUT = 5.0

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Message = tuple[int, int, int, str | None, int, Address | None]


def _parse(data: bytes) -> list[Message]:
    """(type, seq, index, ifname, flags, address) per message; NLMSG_DONE/ERROR carry index 0."""
    out: list[Message] = []
    for kind, seq, body in messages(data):
        if kind in (RTM_NEWLINK, RTM_DELLINK) and len(body) >= IFINFOMSG.size:
            family, _type, index, ifi_flags, _change = IFINFOMSG.unpack_from(body)
            if family == socket.AF_UNSPEC:  # AF_BRIDGE copies describe bridge ports, not links
                name = text(attributes(body, IFINFOMSG.size, len(body)).get(IFLA_IFNAME))
                out.append((kind, seq, index, name, ifi_flags, None))
        elif kind in (RTM_NEWADDR, RTM_DELADDR) and len(body) >= IFADDRMSG.size:
            entry = parse_address(body)
            out.append((kind, seq, entry.index, None, 0, entry.local))
        elif kind in (NLMSG_DONE, NLMSG_ERROR):
            out.append((kind, seq, 0, None, 0, None))
    return out


MAX_REMEMBERED = 4096  # names of links that went, kept to tell a re-creation: containers' veths come and go
GONE = 0  # no link has index 0: a name whose link went comes back "with another index", whatever it is


def _remember(table: dict[str, int], name: str, value: int) -> None:
    """Set table[name] as its newest entry; the oldest go beyond MAX_REMEMBERED."""
    table.pop(name, None)
    table[name] = value
    while len(table) > MAX_REMEMBERED:
        del table[next(iter(table))]


class LinkWatcher:
    """Reports (ifname, up) when an interface's state changes, appears or disappears.

    Non-blocking: register `fileno()` with a selector / `loop.add_reader` and call
    `read()` when readable. If the kernel dropped events (ENOBUFS) the watcher
    re-reads every link and reports the differences, so no change is lost for good.
    """

    def __init__(self, *, addresses: bool = False) -> None:
        self._sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW | socket.SOCK_NONBLOCK, NETLINK_ROUTE)
        try:
            self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, _RCVBUF)
            groups = RTMGRP_LINK | (RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR if addresses else 0)
            self._sock.bind((0, groups))
            self._seq = 0
            self._up: dict[str, bool] = {}
            self._names: dict[int, str] = {}
            # interface -> addresses that came or went; None: unknown (events were lost), recheck all
            self._address_changed: dict[str, set[Address] | None] = {}
            self._address_removed: dict[str, set[Address]] = {}  # interface -> addresses deleted
            # every name's latest index, GONE once its link went (deleted, or moved to another namespace); the
            # newest MAX_REMEMBERED names
            self._last_index: dict[str, int] = {}
            self._recreated: set[str] = set()  # names that came back (a new index, or the old one from a netns)
            self._touched: set[str] = set()  # names a link message spoke of (any change: flags, MAC, index)
            self._resync()
            self._touched.clear()
        except BaseException:
            self._sock.close()
            raise

    def fileno(self) -> int:
        return self._sock.fileno()

    def states(self) -> dict[str, bool]:
        """The last known state of every interface."""
        return dict(self._up)

    def index(self, ifname: str) -> int | None:
        """The interface index of `ifname` as the last link message named it."""
        for index, name in self._names.items():
            if name == ifname:
                return index
        return None

    def address_changes(self) -> set[str]:
        """Interfaces that gained or lost an address since the last call (after `read()`)."""
        return set(self.changed_addresses())

    def changed_addresses(self) -> dict[str, set[Address] | None]:
        """Per interface, the addresses added or removed since the last call (this or
        `address_changes()`); None when events were lost and anything may have changed."""
        changed, self._address_changed = self._address_changed, {}
        return changed

    def removed_addresses(self) -> dict[str, set[Address]]:
        """Per interface, the addresses deleted since the last call (after `read()`)."""
        removed, self._address_removed = self._address_removed, {}
        return removed

    def recreated(self) -> set[str]:
        """Interfaces deleted and created again under the same name (a new index) since the last
        call: sockets bound to the old one hear nothing any more."""
        names, self._recreated = self._recreated, set()
        return names

    def touched(self) -> set[str]:
        """Interfaces that appeared, went or changed in any way (up/down, MAC, name) since the last call."""
        names, self._touched = self._touched, set()
        return names

    def read(self) -> list[tuple[str, bool]]:
        changes: list[tuple[str, bool]] = []
        while True:
            try:
                data = self._sock.recv(65536)
            except (BlockingIOError, InterruptedError):
                return changes
            except OSError as exc:
                if exc.errno != errno.ENOBUFS:
                    raise
                changes.extend(self._resync())  # events were lost: compare against a fresh dump
                # address events may be lost too: recheck all
                self._address_changed.update(dict.fromkeys(self._up, None))
                continue
            for kind, _seq, index, ifname, flags, address in _parse(data):
                self._apply(kind, index, ifname, flags, changes, address)

    def _apply(self, kind: int, index: int, ifname: str | None, flags: int, changes: list[tuple[str, bool]],
               address: Address | None = None) -> None:
        if kind in (RTM_NEWADDR, RTM_DELADDR):
            name = self._names.get(index)
            if name is None:
                return
            if kind == RTM_DELADDR and address is not None:
                self._address_removed.setdefault(name, set()).add(address)
            if address is None:
                self._address_changed[name] = None
            elif name not in self._address_changed:
                self._address_changed[name] = {address}
            else:
                known = self._address_changed[name]
                if known is not None:
                    known.add(address)
            return
        if kind not in (RTM_NEWLINK, RTM_DELLINK):
            return
        old_name = self._names.get(index)
        name = ifname or old_name
        if name is None:
            return
        self._touched.add(name)
        if kind == RTM_DELLINK:
            self._names.pop(index, None)
            _remember(self._last_index, name, GONE)
            if self._up.pop(name, False):
                changes.append((name, False))
            return
        if old_name is not None and old_name != name and self._up.pop(old_name, False):
            changes.append((old_name, False))  # renamed: the old name is gone
        self._names[index] = name
        # A link that went and came back lost its multicast memberships, whatever its index: a veth moved
        # to another namespace and back keeps its index (the kernel reuses it when free there).
        if self._last_index.get(name, index) != index:
            self._recreated.add(name)
        _remember(self._last_index, name, index)
        up = bool(flags & IFF_UP) and bool(flags & IFF_RUNNING)
        if self._up.get(name) != up:
            self._up[name] = up
            changes.append((name, up))

    def _resync(self) -> list[tuple[str, bool]]:
        """Dump every link (RTM_GETLINK) and return what differs from the known state."""
        self._seq += 1
        seq = self._seq
        request = NLMSGHDR.pack(NLMSGHDR.size + IFINFOMSG.size, RTM_GETLINK, NLM_F_REQUEST | NLM_F_DUMP, seq, 0)
        self._sock.send(request + IFINFOMSG.pack(socket.AF_UNSPEC, 0, 0, 0, 0))
        before = dict(self._up)
        first_dump = not self._names
        changes: list[tuple[str, bool]] = []
        seen: set[str] = set()
        done = False
        while not done:
            ready, _, _ = select.select([self._sock], [], [], _DUMP_TIMEOUT)
            if not ready:
                raise TimeoutError("no answer from rtnetlink to a link dump")
            try:
                data = self._sock.recv(65536)
            except (BlockingIOError, InterruptedError):
                continue
            for kind, msg_seq, index, ifname, flags, address in _parse(data):
                if kind in (NLMSG_DONE, NLMSG_ERROR) and msg_seq == seq:
                    done = True
                    continue
                self._apply(kind, index, ifname, flags, changes, address)
                if msg_seq == seq and ifname:
                    seen.add(ifname)
        for name in set(before) - seen:  # vanished while events were being dropped
            _remember(self._last_index, name, GONE)
            if self._up.pop(name, False):
                changes.append((name, False))
            self._names = {i: n for i, n in self._names.items() if n != name}
        return [] if first_dump else changes

    def close(self) -> None:
        self._sock.close()

    def __enter__(self) -> LinkWatcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

