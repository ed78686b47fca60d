"""Interfaces and addresses through rtnetlink (pyroute2): lookups, primary address, VIPs.

One `Netlink` per process, in the network namespace the process runs in. pyroute2 0.9's
synchronous IPRoute drives its own asyncio loop and refuses to run inside a running one
("This event loop is already running"), so every call is made on a private worker thread
that owns the IPRoute object: the methods are safe to call from asyncio code (they block
for the ~0.1 ms a netlink round trip takes) and from plain threads alike.
Adding and removing addresses needs CAP_NET_ADMIN.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

from vrrptui.config.model import IPAddress, IPInterface, VirtualAddress
from vrrptui.net.rtaddr import AddressSocket

T = TypeVar("T")

IFF_UP = 0x1
IFF_RUNNING = 0x40  # operationally up (RFC 2863 "up"); needs carrier
IFA_F_SECONDARY = 0x01
IFA_F_NODAD = 0x02
IFA_F_TENTATIVE = 0x40
RT_SCOPE_LINK = 253

# `ip address` scope names (iproute2 /etc/iproute2/rt_scopes)
SCOPES = {"global": 0, "universe": 0, "site": 200, "link": 253, "host": 254, "nowhere": 255}


def _family_number(family: int) -> int:
    if family in (4, socket.AF_INET):
        return socket.AF_INET
    if family in (6, socket.AF_INET6):
        return socket.AF_INET6
    raise ValueError(f"address family {family}: use 4 or 6")


def _scope(value: str) -> int:
    if value in SCOPES:
        return SCOPES[value]
    try:
        number = int(value, 0)
    except ValueError:
        raise ValueError(f"scope {value!r}: use one of {', '.join(SCOPES)} or 0-255") from None
    if not 0 <= number <= 255:
        raise ValueError(f"scope {value!r}: use one of {', '.join(SCOPES)} or 0-255")
    return number


def _flags(msg: Any) -> int:
    # IFA_FLAGS carries all 32 bits; the header byte only the low 8
    value = msg.get("IFA_FLAGS")
    return int(value) if value is not None else int(msg["flags"])


def _local_address(msg: Any) -> str | None:
    # IPv4: IFA_LOCAL is our address (IFA_ADDRESS is the peer on point-to-point links)
    return msg.get("IFA_LOCAL") or msg.get("IFA_ADDRESS")


@dataclass(frozen=True)
class InterfaceAddress:
    address: IPAddress
    flags: int  # IFA_F_*


def choose_primary(addresses: Iterable[InterfaceAddress], family: int, exclude: Iterable[IPAddress] = ()
                   ) -> IPAddress | None:
    """The primary address among an interface's `addresses` (kernel order), never one in `exclude`.

    IPv4: the first primary (not secondary) address, else the first secondary. IPv6: the
    link-local address, preferring one that finished DAD (a tentative one cannot be used
    as a source yet).
    """
    version = 4 if _family_number(family) == socket.AF_INET else 6
    # a set of addresses is used as it is: the runtime passes every VIP of the config for each
    # instance, and converting them again per instance made a 255-instance reload take a second
    skip = exclude if isinstance(exclude, (set, frozenset)) else {ipaddress.ip_address(a) for a in exclude}
    candidates: list[tuple[int, IPAddress]] = []
    for entry in addresses:
        address = entry.address
        if address.version != version or address in skip:
            continue
        if version == 4:
            candidates.append((1 if entry.flags & IFA_F_SECONDARY else 0, address))
        elif address.is_link_local:
            candidates.append((1 if entry.flags & IFA_F_TENTATIVE else 0, address))
    candidates.sort(key=lambda c: c[0])  # stable: kernel order within each rank
    return candidates[0][1] if candidates else None


class Netlink:
    """rtnetlink access for the runtime. Call `close()` when done."""

    def __init__(self) -> None:
        # the worker thread is born here, so it (and its IPRoute) live in the caller's namespace
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="vrrptui-netlink")
        self._ipr: Any = None
        self._added: set[tuple[int, IPInterface]] = set()  # (ifindex, VIP) we added ourselves
        self._addresses = AddressSocket()  # VIPs: one request each, in this thread's namespace
        try:
            self._ipr = self._run(self._open)
        except BaseException:
            self._worker.shutdown(wait=False)
            self._addresses.close()
            raise

    @staticmethod
    def _open() -> Any:
        from pyroute2 import IPRoute  # imported lazily: ~0.1 s, only processes that need netlink pay it

        return IPRoute()

    def _run(self, func: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        return self._worker.submit(self._call, func, args, kwargs).result()

    def _call(self, func: Callable[..., T], args: tuple[Any, ...], kwargs: dict[str, Any]) -> T:
        try:
            return func(*args, **kwargs)
        finally:
            self._drop_strays()

    def _drop_strays(self) -> None:
        """pyroute2 0.9 answers a request that is not a dump, then files the kernel's ACK that follows
        under tag 0, where nothing reads it: about 2 kB of RSS per request, for the life of the daemon
        (each SIGHUP reload makes a few). Drop them on the netlink thread, between requests."""
        queue = getattr(getattr(getattr(self._ipr, "asyncore", None), "local", None), "msg_queue", None)
        root = getattr(queue, "root", None)
        while root is not None and not root.empty():
            root.get_nowait()
            root.task_done()

    def request(self, method: str, *args: Any, **kwargs: Any) -> Any:
        """Call an IPRoute method (e.g. "link", "get_links") on the netlink thread; lists are materialised."""

        def call() -> Any:
            result = getattr(self._ipr, method)(*args, **kwargs)
            return result if isinstance(result, (list, dict, int, str)) or result is None else list(result)

        return self._run(call)

    def close(self) -> None:
        if self._ipr is not None:
            self._run(self._ipr.close)
            self._ipr = None
        self._worker.shutdown(wait=True)
        self._addresses.close()

    def __enter__(self) -> Netlink:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- links -----------------------------------------------------------------

    def link_index(self, ifname: str) -> int | None:
        found = self._run(self._ipr.link_lookup, ifname=ifname)
        return found[0] if found else None

    def link_names(self) -> list[str]:
        return [link.get("IFLA_IFNAME") for link in self._run(lambda: list(self._ipr.get_links()))]

    def _link(self, ifname: str) -> Any | None:
        index = self.link_index(ifname)
        if index is None:
            return None
        links = self._run(lambda: list(self._ipr.get_links(index)))
        return links[0] if links else None

    def require_index(self, ifname: str) -> int:
        index = self.link_index(ifname)
        if index is None:
            raise LookupError(f"interface {ifname!r} does not exist in this network namespace")
        return index

    def link_is_up(self, ifname: str) -> bool:
        """Administratively up and operationally up (carrier present). False if missing."""
        link = self._link(ifname)
        if link is None:
            return False
        flags = int(link["flags"])
        return bool(flags & IFF_UP) and bool(flags & IFF_RUNNING)

    def link_mac(self, ifname: str) -> str:
        link = self._link(ifname)
        if link is None:
            raise LookupError(f"interface {ifname!r} does not exist in this network namespace")
        return str(link.get("IFLA_ADDRESS"))

    # --- addresses ---------------------------------------------------------------

    def _dump_addresses(self, index: int | None = None, family: int | None = None) -> list[Any]:
        query: dict[str, int] = {}
        if index is not None:
            query["index"] = index
        if family is not None:
            query["family"] = family
        return self._run(lambda: list(self._ipr.get_addr(**query)))

    def addresses(self) -> list[tuple[str, IPInterface, str | None]]:
        """Every address in the namespace: (ifname, address/prefix, label or None)."""
        names = {link["index"]: link.get("IFLA_IFNAME") for link in self._run(lambda: list(self._ipr.get_links()))}
        result: list[tuple[str, IPInterface, str | None]] = []
        for msg in self._dump_addresses():
            local = _local_address(msg)
            if local is None:
                continue
            ifname = names.get(msg["index"], str(msg["index"]))
            label = msg.get("IFA_LABEL")
            interface = ipaddress.ip_interface(f"{local}/{msg['prefixlen']}")
            result.append((ifname, interface, None if label in (None, ifname) else label))
        return result

    def has_address(self, address: IPAddress, ifname: str | None = None) -> bool:
        address = ipaddress.ip_address(address)
        return any(iface.ip == address and (ifname is None or name == ifname) for name, iface, _ in self.addresses())

    def interface_addresses(self, ifname: str, index: int | None = None) -> list[InterfaceAddress] | None:
        """Every address of one interface, both families, in kernel order: one netlink dump
        (two without `index`). None if the interface does not exist."""
        if index is None:
            index = self.link_index(ifname)
            if index is None:
                return None
        result: list[InterfaceAddress] = []
        for msg in self._dump_addresses(index):
            local = _local_address(msg)
            if local is not None and msg["family"] in (socket.AF_INET, socket.AF_INET6):
                result.append(InterfaceAddress(ipaddress.ip_address(local), _flags(msg)))
        return result

    def added_on(self, index: int) -> set[IPAddress]:
        """The VIPs this object added on interface `index` (never a primary address)."""
        return {vip.ip for idx, vip in self._added if idx == index}

    def primary_address(
        self, ifname: str, family: int, exclude: Iterable[IPAddress] = ()
    ) -> IPAddress | None:
        """The address adverts are sent from (RFC 5798 5.1.1.2 / 5.1.2.2): see `choose_primary`;
        the VIPs we added are never it."""
        index = self.link_index(ifname)
        if index is None:
            return None
        af = _family_number(family)
        entries = [
            InterfaceAddress(ipaddress.ip_address(local), _flags(msg))
            for msg in self._dump_addresses(index, af)
            if (local := _local_address(msg)) is not None
        ]
        return choose_primary(entries, family, {*exclude, *self.added_on(index)})

    def add_vip(self, vip: VirtualAddress, default_dev: str) -> bool:
        """Add a virtual address. True if we added it, False if it was already there.

        Honours the prefix, `dev`, `label`, `brd` (an address, `+` for the subnet's
        broadcast, `-` for none) and `scope`. IPv6 VIPs skip DAD so they answer at once,
        as keepalived adds them. One rtnetlink request (rtaddr), no thread hop.
        """
        ifname = vip.dev or default_dev
        index = self._addresses.index(ifname)
        if index is None:
            raise LookupError(f"interface {ifname!r} does not exist in this network namespace")
        interface = vip.interface
        broadcast = None
        if interface.version == 4:
            if vip.brd == "+":
                broadcast = str(interface.network.broadcast_address)
            elif vip.brd and vip.brd != "-":
                broadcast = vip.brd
        try:
            added = self._addresses.add(index, interface, label=vip.label if interface.version == 4 else None,
                                        broadcast=broadcast, scope=_scope(vip.scope) if vip.scope else 0,
                                        nodad=interface.version == 6)
        except OSError as exc:
            raise OSError(exc.errno, f"cannot add {interface} to {ifname}: {exc.strerror}") from exc
        if added:
            self._added.add((index, interface))
        return added

    def remove_vip(self, vip: VirtualAddress, default_dev: str) -> bool:
        """Remove a virtual address. True if removed, False if it was not there."""
        index = self._addresses.index(vip.dev or default_dev)
        if index is None:
            return False  # the interface is gone, and the address with it
        interface = vip.interface
        try:
            return self._addresses.delete(index, interface)
        finally:
            self._added.discard((index, interface))
