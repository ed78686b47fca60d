"""A plain rtnetlink socket (socket + struct): link lookups and dumps, address dumps, requests with an ack.

What every daemon needs from rtnetlink, without pyroute2 (importing it costs ~10 MB of RSS
and a thread): `RtnlSocket` answers link and address queries in the network namespace
of the thread that created it; `vrrptui.net.rtaddr.AddressSocket` adds address changes.
Calls block until the kernel answers (~0.1 ms) and are safe from several threads.

    with RtnlSocket() as rt:
        rt.link_by_name("eth0")    # Link(index=2, name='eth0', flags=..., mac='52:54:00:12:34:56')
        rt.addresses(index=2)      # [AddressEntry(family=2, prefixlen=24, ...), ...] in kernel order
"""

from __future__ import annotations

import errno
import fcntl
import ipaddress
import socket
import struct
import threading
from dataclasses import dataclass
from typing import Self

from vrrptui.net import nlmsg
from vrrptui.net.nlmsg import (  # noqa: F401  (the framing's names, for this module's users)
    IFA_ADDRESS, IFA_FLAGS, IFA_LABEL, IFA_LOCAL, IFADDRMSG, NETLINK_ROUTE, NLM_F_ACK, NLM_F_REQUEST, NLMSG_DONE,
    NLMSG_ERROR, NLMSGHDR, RTM_NEWADDR, attr, attributes, messages,
)

RTM_NEWLINK = 16
RTM_GETLINK = 18
RTM_GETADDR = 22
NLM_F_DUMP = 0x300
IFLA_ADDRESS = 1
IFLA_IFNAME = 3

IFINFOMSG = struct.Struct("=BxHiII")  # family, type, index, flags, change
SIOCGIFINDEX = 0x8933
IFNAMSIZ = 16
IFREQ_INDEX = struct.Struct("=16si20x")  # struct ifreq: ifr_name, ifr_ifindex (and the rest of its union)
_U32 = struct.Struct("=I")
_ADDRESS_SIZES = {int(socket.AF_INET): 4, int(socket.AF_INET6): 16}

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True, slots=True)
class Link:
    index: int
    name: str
    flags: int  # IFF_*
    mac: str | None  # IFLA_ADDRESS as aa:bb:..., None when the link has none


@dataclass(frozen=True, slots=True)
class AddressEntry:
    family: int  # AF_INET / AF_INET6
    prefixlen: int
    flags: int  # IFA_F_*, all 32 bits (IFA_FLAGS) when the kernel sent them
    scope: int
    index: int
    local: Address | None  # IPv4: IFA_LOCAL (IFA_ADDRESS is the peer on point-to-point links); None: not IP
    label: str | None


def text(raw: bytes | None) -> str | None:
    """A NUL-terminated string attribute (None stays None)."""
    return None if raw is None else raw.split(b"\0", 1)[0].decode(errors="replace")


def parse_link(body: bytes) -> Link:
    _family, _type, index, flags, _change = IFINFOMSG.unpack_from(body)
    attrs = attributes(body, IFINFOMSG.size, len(body))
    mac = attrs.get(IFLA_ADDRESS)
    return Link(index, text(attrs.get(IFLA_IFNAME)) or str(index), flags,
                ":".join(f"{b:02x}" for b in mac) if mac else None)


def parse_address(body: bytes) -> AddressEntry:
    family, prefixlen, flags, scope, index = IFADDRMSG.unpack_from(body)
    attrs = attributes(body, IFADDRMSG.size, len(body))
    raw = attrs.get(IFA_LOCAL) or attrs.get(IFA_ADDRESS)
    local = ipaddress.ip_address(raw) if raw is not None and len(raw) == _ADDRESS_SIZES.get(family) else None
    if IFA_FLAGS in attrs:
        flags = _U32.unpack(attrs[IFA_FLAGS][:4])[0]
    return AddressEntry(family, prefixlen, flags, scope, index, local, text(attrs.get(IFA_LABEL)))


class RtnlSocket:
    """One rtnetlink socket, in the network namespace of the thread that makes it."""

    def __init__(self) -> None:
        self._sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW | socket.SOCK_CLOEXEC, NETLINK_ROUTE)
        try:
            self._sock.bind((0, 0))  # blocking, no timeout: nlmsg.receive() bounds the wait
        except BaseException:
            self._sock.close()
            raise
        self._seq = 0
        self._lock = threading.Lock()

    # --- links -------------------------------------------------------------------

    def link_by_name(self, ifname: str) -> Link | None:
        """RTM_GETLINK by name; None if there is no such interface."""
        reply = self.exchange(RTM_GETLINK, 0, IFINFOMSG.pack(socket.AF_UNSPEC, 0, 0, 0, 0)
                              + attr(IFLA_IFNAME, ifname.encode() + b"\0"))
        return None if isinstance(reply, int) else parse_link(reply)

    def link_by_index(self, index: int) -> Link | None:
        reply = self.exchange(RTM_GETLINK, 0, IFINFOMSG.pack(socket.AF_UNSPEC, 0, index, 0, 0))
        return None if isinstance(reply, int) else parse_link(reply)

    def index(self, ifname: str) -> int | None:
        """The interface's index; None if there is none. SIOCGIFINDEX on this socket (so in its namespace):
        every VIP added or removed asks, and an ioctl costs ~5 us where a RTM_GETLINK exchange costs ~40."""
        name = ifname.encode()
        if not name or len(name) >= IFNAMSIZ or b"\0" in name:
            return None
        try:
            reply = fcntl.ioctl(self._sock.fileno(), SIOCGIFINDEX, IFREQ_INDEX.pack(name, 0))
        except OSError as exc:
            if exc.errno == errno.ENODEV:
                return None
            raise
        index: int = IFREQ_INDEX.unpack(reply)[1]
        return index

    def links(self) -> list[Link]:
        """Every link of the namespace (RTM_GETLINK dump)."""
        return [parse_link(body) for kind, body in self.dump(RTM_GETLINK, IFINFOMSG.pack(socket.AF_UNSPEC, 0, 0, 0, 0))
                if kind == RTM_NEWLINK]

    # --- addresses -----------------------------------------------------------------

    def addresses(self, index: int | None = None, family: int = socket.AF_UNSPEC) -> list[AddressEntry]:
        """Every address (of one interface, of one family), in kernel order (RTM_GETADDR dump)."""
        entries = [parse_address(body) for kind, body in self.dump(RTM_GETADDR, IFADDRMSG.pack(family, 0, 0, 0, 0))
                   if kind == RTM_NEWADDR]
        return [e for e in entries if (index is None or e.index == index) and family in (socket.AF_UNSPEC, e.family)]

    # --- requests --------------------------------------------------------------------

    def exchange(self, kind: int, flags: int, body: bytes) -> int | bytes:
        """One request with NLM_F_ACK: its errno (0 for a bare ack), or the body of the kernel's answer."""
        with self._lock:
            self._seq += 1
            return nlmsg.exchange(self._sock, self._seq, kind, flags, body)

    def dump(self, kind: int, body: bytes) -> list[tuple[int, bytes]]:
        """An NLM_F_DUMP request: (type, body) of every message up to NLMSG_DONE. OSError if refused."""
        with self._lock:
            self._seq += 1
            seq = self._seq
            nlmsg.send(self._sock, seq, kind, NLM_F_REQUEST | NLM_F_DUMP, body)
            out: list[tuple[int, bytes]] = []
            while True:
                for msg_type, msg_seq, payload in messages(nlmsg.receive(self._sock)):
                    if msg_seq != seq:
                        continue
                    if msg_type == NLMSG_DONE:
                        return out
                    if msg_type == NLMSG_ERROR:
                        code = nlmsg.error_code(payload)
                        raise OSError(code, f"rtnetlink refused a dump (message type {kind})")
                    out.append((msg_type, payload))

    def close(self) -> None:
        self._sock.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
