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

import ipaddress
import socket
import struct
import threading
from dataclasses import dataclass
from typing import Self

NETLINK_ROUTE = 0
NLMSG_ERROR = 2
NLMSG_DONE = 3
RTM_NEWLINK = 16
RTM_GETLINK = 18
RTM_NEWADDR = 20
RTM_GETADDR = 22
NLM_F_REQUEST = 0x1
NLM_F_ACK = 0x4
NLM_F_DUMP = 0x300
IFLA_ADDRESS = 1
IFLA_IFNAME = 3
IFA_ADDRESS = 1
IFA_LOCAL = 2
IFA_LABEL = 3
IFA_FLAGS = 8

NLMSGHDR = struct.Struct("=IHHII")  # length, type, flags, seq, pid
IFINFOMSG = struct.Struct("=BxHiII")  # family, type, index, flags, change
IFADDRMSG = struct.Struct("=BBBBI")  # family, prefixlen, flags, scope, index
_RTATTR = struct.Struct("=HH")
_ERRNO = struct.Struct("=i")
_U32 = struct.Struct("=I")
_TIMEOUT = 5.0
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


def attr(kind: int, payload: bytes) -> bytes:
    """One rtattr, padded to 4 bytes."""
    length = _RTATTR.size + len(payload)
    return _RTATTR.pack(length, kind) + payload + b"\0" * (-length % 4)


def attributes(data: bytes, start: int, end: int) -> dict[int, bytes]:
    """The rtattrs between START and END by type (the last one wins)."""
    found: dict[int, bytes] = {}
    while start + _RTATTR.size <= end:
        length, kind = _RTATTR.unpack_from(data, start)
        if length < _RTATTR.size:
            break
        found[kind & 0x3FFF] = data[start + _RTATTR.size: start + length]  # without NLA_F_NESTED/BYTEORDER
        start += (length + 3) & ~3
    return found


def text(raw: bytes | None) -> str | None:
    """A NUL-terminated string attribute (None stays None)."""
    return None if raw is None else raw.split(b"\0", 1)[0].decode(errors="replace")


def messages(data: bytes) -> list[tuple[int, int, bytes]]:
    """(type, seq, body) of each netlink message in one datagram; a truncated one ends the list."""
    out: list[tuple[int, int, bytes]] = []
    offset = 0
    while offset + NLMSGHDR.size <= len(data):
        length, msg_type, _flags, seq, _pid = NLMSGHDR.unpack_from(data, offset)
        if length < NLMSGHDR.size or offset + length > len(data):
            break
        out.append((msg_type, seq, data[offset + NLMSGHDR.size: offset + length]))
        offset += (length + 3) & ~3
    return out


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
            self._sock.settimeout(_TIMEOUT)
            self._sock.bind((0, 0))
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
        """The interface's index; None if there is none."""
        link = self.link_by_name(ifname)
        return None if link is None else link.index

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
            seq = self._send(kind, NLM_F_REQUEST | NLM_F_ACK | flags, body)
            answer: bytes | None = None
            while True:
                for msg_type, msg_seq, payload in messages(self._sock.recv(1 << 16)):
                    if msg_seq != seq:
                        continue
                    if msg_type == NLMSG_ERROR:
                        code = -_ERRNO.unpack_from(payload)[0]
                        return answer if code == 0 and answer is not None else code
                    answer = payload

    def dump(self, kind: int, body: bytes) -> list[tuple[int, bytes]]:
        """An NLM_F_DUMP request: (type, body) of every message up to NLMSG_DONE. OSError if refused."""
        with self._lock:
            seq = self._send(kind, NLM_F_REQUEST | NLM_F_DUMP, body)
            out: list[tuple[int, bytes]] = []
            while True:
                for msg_type, msg_seq, payload in messages(self._sock.recv(1 << 16)):
                    if msg_seq != seq:
                        continue
                    if msg_type == NLMSG_DONE:
                        return out
                    if msg_type == NLMSG_ERROR:
                        code = -_ERRNO.unpack_from(payload)[0]
                        raise OSError(code, f"rtnetlink refused a dump (message type {kind})")
                    out.append((msg_type, payload))

    def _send(self, kind: int, flags: int, body: bytes) -> int:
        self._seq += 1
        self._sock.send(NLMSGHDR.pack(NLMSGHDR.size + len(body), kind, flags, self._seq, 0) + body)
        return self._seq

    def close(self) -> None:
        self._sock.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
