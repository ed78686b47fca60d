"""Add and delete one interface address with a single rtnetlink request (RTM_NEWADDR / RTM_DELADDR).

The VIP path is latency-critical: a new master's VIPs must be in place before its first
advert makes the old master let go of them. pyroute2's IPRoute costs a thread hop and
its own event loop per call (1-3 ms); this is one sendmsg and one ack on a plain netlink
socket (~0.1 ms), in the caller's network namespace. Needs CAP_NET_ADMIN.

    with AddressSocket() as rt:
        rt.add(index, ip_interface("192.168.1.100/24"), label="eth0:vip", broadcast="192.168.1.255")
        rt.delete(index, ip_interface("192.168.1.100/24"))   # False: it was not there
"""

from __future__ import annotations

import errno
import ipaddress
import socket
import struct

NETLINK_ROUTE = 0
RTM_NEWLINK = 16
RTM_GETLINK = 18
RTM_NEWADDR = 20
RTM_DELADDR = 21
NLMSG_ERROR = 2
NLM_F_REQUEST = 0x1
NLM_F_ACK = 0x4
NLM_F_EXCL = 0x200
NLM_F_CREATE = 0x400
IFA_ADDRESS = 1
IFA_LOCAL = 2
IFA_LABEL = 3
IFA_BROADCAST = 4
IFA_FLAGS = 8
IFA_F_NODAD = 0x02
IFLA_IFNAME = 3

_NLMSGHDR = struct.Struct("=IHHII")  # length, type, flags, seq, pid
_IFADDRMSG = struct.Struct("=BBBBI")  # family, prefixlen, flags, scope, index
_IFINFOMSG = struct.Struct("=BxHiII")  # family, type, index, flags, change
_RTATTR = struct.Struct("=HH")
_ERRNO = struct.Struct("=i")
_ACK_TIMEOUT = 5.0

Interface = ipaddress.IPv4Interface | ipaddress.IPv6Interface


def _attr(kind: int, payload: bytes) -> bytes:
    length = _RTATTR.size + len(payload)
    return _RTATTR.pack(length, kind) + payload + b"\0" * (-length % 4)


class AddressSocket:
    """One rtnetlink socket for address changes; calls block until the kernel acknowledges."""

    def __init__(self) -> None:
        self._sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW | socket.SOCK_CLOEXEC, NETLINK_ROUTE)
        self._sock.settimeout(_ACK_TIMEOUT)
        self._sock.bind((0, 0))
        self._seq = 0

    def index(self, ifname: str) -> int | None:
        """The interface's index in the socket's namespace (RTM_GETLINK by name); None if there is none."""
        body = _IFINFOMSG.pack(socket.AF_UNSPEC, 0, 0, 0, 0) + _attr(IFLA_IFNAME, ifname.encode() + b"\0")
        reply = self._exchange(RTM_GETLINK, 0, body)
        if isinstance(reply, int):
            return None
        return int(_IFINFOMSG.unpack_from(reply)[2])

    def add(self, index: int, interface: Interface, *, label: str | None = None, broadcast: str | None = None,
            scope: int = 0, nodad: bool = False) -> bool:
        """Add the address; False if it was already there (EEXIST)."""
        attrs = _attr(IFA_LOCAL, interface.ip.packed) + _attr(IFA_ADDRESS, interface.ip.packed)
        if broadcast is not None:
            attrs += _attr(IFA_BROADCAST, ipaddress.IPv4Address(broadcast).packed)
        if label:
            attrs += _attr(IFA_LABEL, label.encode() + b"\0")
        if nodad:
            attrs += _attr(IFA_FLAGS, struct.pack("=I", IFA_F_NODAD))
        code = self._request(RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, index, interface, scope, attrs)
        if code == errno.EEXIST:
            return False
        if code:
            raise OSError(code, f"cannot add {interface} to interface {index}: {errno.errorcode.get(code, code)}")
        return True

    def delete(self, index: int, interface: Interface) -> bool:
        """Delete the address; False if it was not there (EADDRNOTAVAIL) or the interface is gone (ENODEV)."""
        attrs = _attr(IFA_LOCAL, interface.ip.packed) + _attr(IFA_ADDRESS, interface.ip.packed)
        code = self._request(RTM_DELADDR, 0, index, interface, 0, attrs)
        if code in (errno.EADDRNOTAVAIL, errno.ENODEV):
            return False
        if code:
            raise OSError(code, f"cannot remove {interface} from interface {index}: {errno.errorcode.get(code, code)}")
        return True

    def _request(self, kind: int, flags: int, index: int, interface: Interface, scope: int, attrs: bytes) -> int:
        """Send one address request and return the ack's errno (0: done)."""
        family = socket.AF_INET if interface.version == 4 else socket.AF_INET6
        body = _IFADDRMSG.pack(family, interface.network.prefixlen, 0, scope, index) + attrs
        reply = self._exchange(kind, flags, body)
        return reply if isinstance(reply, int) else 0

    def _exchange(self, kind: int, flags: int, body: bytes) -> int | bytes:
        """One request: the errno of its NLMSG_ERROR (0 for an ack), or the body of the kernel's answer."""
        self._seq += 1
        header = _NLMSGHDR.pack(_NLMSGHDR.size + len(body), kind, NLM_F_REQUEST | NLM_F_ACK | flags, self._seq, 0)
        self._sock.send(header + body)
        answer: bytes | None = None
        while True:
            data = self._sock.recv(65536)
            offset = 0
            while offset + _NLMSGHDR.size <= len(data):
                length, msg_type, _flags, seq, _pid = _NLMSGHDR.unpack_from(data, offset)
                if length < _NLMSGHDR.size:
                    break
                if seq == self._seq:
                    if msg_type == NLMSG_ERROR:
                        code = -_ERRNO.unpack_from(data, offset + _NLMSGHDR.size)[0]
                        return answer if code == 0 and answer is not None else code
                    answer = data[offset + _NLMSGHDR.size: offset + length]
                offset += (length + 3) & ~3

    def close(self) -> None:
        self._sock.close()

    def __enter__(self) -> AddressSocket:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
