"""Interfaces and addresses through rtnetlink: lookups, primary address, VIPs; pyroute2 for the rest.

One `Netlink` per process, in the network namespace of the thread that makes it. Links,
addresses and VIPs go through a plain rtnetlink socket (`vrrptui.net.rtaddr`, ~0.1 ms a
call, no thread); the methods are safe to call from asyncio code and from plain threads alike.
`request()` (VMACs, routes and rules) drives pyroute2's IPRoute, imported and opened on
first use only: it costs ~10 MB of RSS and a thread, which a config without those
features never pays. pyroute2 0.9's synchronous IPRoute drives its own asyncio loop and
refuses to run inside a running one, so it lives on a private worker thread, moved into
this object's namespace before it opens the IPRoute.
Adding and removing addresses needs CAP_NET_ADMIN.
"""

from __future__ import annotations

import ctypes
import ipaddress
import os
import socket
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

from vrrptui.config.model import IPAddress, IPInterface, VirtualAddress
from vrrptui.net.rtaddr import AddressSocket
from vrrptui.net.rtnl import Link

T = TypeVar("T")

IFF_UP = 0x1
IFF_RUNNING = 0x40  # operationally up (RFC 2863 "up"); needs carrier
IFA_F_SECONDARY = 0x01
IFA_F_NODAD = 0x02
IFA_F_TENTATIVE = 0x40
RT_SCOPE_LINK = 253
CLONE_NEWNET = 0x40000000

# `ip address` scope names (iproute2 /etc/iproute2/rt_scopes)
SCOPES = {"global": 0, "universe": 0, "site": 200, "link": 253, "host": 254, "nowhere": 255}


@dataclass(frozen=True, slots=True)
class VipChange:
    """A VIP's rtnetlink requests, built ahead: adding and removing it is then one sendmsg each."""

    ifname: str
    index: int
    interface: IPInterface
    add: bytes  # RTM_NEWADDR body
    delete: bytes  # RTM_DELADDR body


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
        self._added: dict[tuple[str, IPInterface], VipChange] = {}  # (ifname, VIP) we added ourselves
        self._rt = AddressSocket()  # in this thread's namespace
        try:
            self._netns = os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)  # for pyroute2's thread
        except BaseException:
            self._rt.close()
            raise
        self._pyroute2_lock = threading.Lock()
        self._worker: ThreadPoolExecutor | None = None
        self._ipr: Any = None

    # --- pyroute2, on first use ----------------------------------------------------

    def _enter_netns(self) -> None:
        """On the worker thread: move into this object's namespace unless already there."""
        if os.stat(f"/proc/self/fd/{self._netns}").st_ino == os.stat("/proc/thread-self/ns/net").st_ino:
            return
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.setns(self._netns, CLONE_NEWNET) != 0:
            err = ctypes.get_errno()
            raise OSError(err, f"setns: {os.strerror(err)}")

    def _open(self) -> Any:
        self._enter_netns()
        from pyroute2 import IPRoute  # imported lazily: ~10 MB, only configs with VMACs or routes pay it

        return IPRoute()

    def open_pyroute2(self) -> None:
        """Import and open pyroute2 now (~0.1-0.3 s), not at the first `request()`: a config whose
        MASTER transitions install routes must not stall one on it."""
        self._pyroute2()

    def _pyroute2(self) -> ThreadPoolExecutor:
        with self._pyroute2_lock:
            if self._worker is None:
                worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="vrrptui-netlink")
                try:
                    self._ipr = worker.submit(self._open).result()
                except BaseException:
                    worker.shutdown(wait=False)
                    raise
                self._worker = worker
            return self._worker

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
        """Call an IPRoute method (e.g. "link", "get_links") on the pyroute2 thread; lists are materialised."""

        def call() -> Any:
            result = getattr(self._ipr, method)(*args, **kwargs)
            return result if isinstance(result, (list, dict, int, str)) or result is None else list(result)

        worker = self._pyroute2()
        return worker.submit(self._call, call, (), {}).result()

    def close(self) -> None:
        with self._pyroute2_lock:
            if self._worker is not None:
                self._worker.submit(self._ipr.close).result()
                self._worker.shutdown(wait=True)
                self._worker = self._ipr = None
        self._rt.close()
        os.close(self._netns)

    def __enter__(self) -> Netlink:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- links -----------------------------------------------------------------

    def link_index(self, ifname: str) -> int | None:
        return self._rt.index(ifname)

    def link_names(self) -> list[str]:
        return [link.name for link in self._rt.links()]

    def require_index(self, ifname: str) -> int:
        index = self.link_index(ifname)
        if index is None:
            raise LookupError(f"interface {ifname!r} does not exist in this network namespace")
        return index

    def link_is_up(self, ifname: str) -> bool:
        """Administratively up and operationally up (carrier present). False if missing."""
        link = self._rt.link_by_name(ifname)
        if link is None:
            return False
        return bool(link.flags & IFF_UP) and bool(link.flags & IFF_RUNNING)

    def link_mac(self, ifname: str) -> str:
        link: Link | None = self._rt.link_by_name(ifname)
        if link is None:
            raise LookupError(f"interface {ifname!r} does not exist in this network namespace")
        return str(link.mac)

    # --- addresses ---------------------------------------------------------------

    def addresses(self) -> list[tuple[str, IPInterface, str | None]]:
        """Every address in the namespace: (ifname, address/prefix, label or None)."""
        names = {link.index: link.name for link in self._rt.links()}
        result: list[tuple[str, IPInterface, str | None]] = []
        for entry in self._rt.addresses():
            if entry.local is None:
                continue
            ifname = names.get(entry.index, str(entry.index))
            interface = ipaddress.ip_interface(f"{entry.local}/{entry.prefixlen}")
            result.append((ifname, interface, None if entry.label in (None, ifname) else entry.label))
        return result

    def has_address(self, address: IPAddress, ifname: str | None = None) -> bool:
        address = ipaddress.ip_address(address)
        return any(iface.ip == address and (ifname is None or name == ifname) for name, iface, _ in self.addresses())

    def interface_addresses(self, ifname: str, index: int | None = None) -> list[InterfaceAddress] | None:
        """Every address of one interface, both families, in kernel order: one netlink dump
        (and a lookup without `index`). None if the interface does not exist."""
        if index is None:
            index = self.link_index(ifname)
            if index is None:
                return None
        return [InterfaceAddress(entry.local, entry.flags)
                for entry in self._rt.addresses(index) if entry.local is not None]

    def added_on(self, index: int) -> set[IPAddress]:
        """The VIPs this object added on interface `index` (never a primary address)."""
        return {change.interface.ip for change in self._added.values() if change.index == index}

    def primary_address(
        self, ifname: str, family: int, exclude: Iterable[IPAddress] = ()
    ) -> IPAddress | None:
        """The address adverts are sent from (RFC 5798 5.1.1.2 / 5.1.2.2): see `choose_primary`;
        the VIPs we added are never it."""
        index = self.link_index(ifname)
        if index is None:
            return None
        entries = [InterfaceAddress(entry.local, entry.flags)
                   for entry in self._rt.addresses(index, _family_number(family)) if entry.local is not None]
        return choose_primary(entries, family, {*exclude, *self.added_on(index)})

    def vip_change(self, vip: VirtualAddress, default_dev: str) -> VipChange:
        """The requests that add and remove the VIP, built now for `add_vip` to send later (a new master's
        advert, VIPs and GARPs then leave back to back). LookupError if its interface does not exist.

        Honours the prefix, `dev`, `label`, `brd` (an address, `+` for the subnet's broadcast, `-` for
        none) and `scope`. IPv6 VIPs skip DAD so they answer at once, as keepalived adds them.
        """
        ifname = vip.dev or default_dev
        index = self._rt.index(ifname)
        if index is None:
            raise LookupError(f"interface {ifname!r} does not exist in this network namespace")
        interface = vip.interface
        broadcast = None
        if interface.version == 4:
            if vip.brd == "+":
                broadcast = str(interface.network.broadcast_address)
            elif vip.brd and vip.brd != "-":
                broadcast = vip.brd
        add = self._rt.addition(index, interface, label=vip.label if interface.version == 4 else None,
                                broadcast=broadcast, scope=_scope(vip.scope) if vip.scope else 0,
                                nodad=interface.version == 6)
        return VipChange(ifname, index, interface, add, self._rt.deletion(index, interface))

    def add_vip(self, vip: VirtualAddress, default_dev: str, change: VipChange | None = None) -> bool:
        """Add a virtual address (CHANGE: its `vip_change`, built ahead). True if we added it, False if it was
        already there. One rtnetlink request (rtaddr), no thread hop."""
        if change is None:
            change = self.vip_change(vip, default_dev)
        try:
            added = self._rt.add(change.index, change.interface, change.add)
        except OSError as exc:
            raise OSError(exc.errno, f"cannot add {change.interface} to {change.ifname}: {exc.strerror}") from exc
        if added:
            self._added[change.ifname, change.interface] = change
        return added

    def remove_vip(self, vip: VirtualAddress, default_dev: str) -> bool:
        """Remove a virtual address. True if removed, False if it was not there.

        One we added goes with the request built when it was added, on the interface it was added to (one
        deleted since took the address with it: its index is never reused), with nothing looked up."""
        ifname, interface = vip.dev or default_dev, vip.interface
        ours = self._added.pop((ifname, interface), None)
        if ours is not None:
            return self._rt.delete(ours.index, interface, ours.delete)
        index = self._rt.index(ifname)
        if index is None:
            return False  # the interface is gone, and the address with it
        return self._rt.delete(index, interface)
