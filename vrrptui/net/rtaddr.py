"""Add and delete one interface address with a single rtnetlink request (RTM_NEWADDR / RTM_DELADDR).

The VIP path is latency-critical: a new master's VIPs must be in place before its first
advert makes the old master let go of them. pyroute2's IPRoute costs a thread hop and
its own event loop per call (1-3 ms); this is one sendmsg and one ack on a plain netlink
socket (~0.1 ms), in the caller's network namespace. Needs CAP_NET_ADMIN.

    with AddressSocket() as rt:
        rt.add(index, ip_interface("192.168.1.100/24"), label="eth0:vip", broadcast="192.168.1.255")
        rt.delete(index, ip_interface("192.168.1.100/24"))   # False: it was not there
        body = rt.deletion(index, interface)                  # built ahead (adding, body=rt.addition(...)):
        rt.delete(index, interface, body)                     # then the change is one sendmsg, nothing to compute
"""

from __future__ import annotations

import errno
import ipaddress
import socket
import struct
from typing import Any

from vrrptui.net.nlmsg import IFA_FLAGS, IFA_LABEL, RTM_DELADDR, RTM_NEWADDR, address_body, attr
from vrrptui.net.rtnl import RtnlSocket

NLM_F_EXCL = 0x200
NLM_F_CREATE = 0x400
IFA_BROADCAST = 4
IFA_F_NODAD = 0x02

Interface = ipaddress.IPv4Interface | ipaddress.IPv6Interface


class AddressSocket(RtnlSocket):
    """An rtnetlink socket that also adds and deletes addresses; calls block until the kernel acknowledges."""

    @staticmethod
    def addition(index: int, interface: Interface, *, label: str | None = None, broadcast: str | None = None,
                 scope: int = 0, nodad: bool = False) -> bytes:
        """The RTM_NEWADDR body for the address, to build ahead of `add`."""
        attrs = b""
        if broadcast is not None:
            attrs += attr(IFA_BROADCAST, ipaddress.IPv4Address(broadcast).packed)
        if label:
            attrs += attr(IFA_LABEL, label.encode() + b"\0")
        if nodad:
            attrs += attr(IFA_FLAGS, struct.pack("=I", IFA_F_NODAD))
        return _body(index, interface, scope, attrs)

    @staticmethod
    def deletion(index: int, interface: Interface) -> bytes:
        """The RTM_DELADDR body for the address, to build ahead of `delete`."""
        return _body(index, interface, 0, b"")

    def add(self, index: int, interface: Interface, body: bytes | None = None, **options: Any) -> bool:
        """Add the address (BODY: its `addition`, built ahead; else OPTIONS are addition's); False if it was
        already there (EEXIST)."""
        code = self._code(RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, body or self.addition(index, interface, **options))
        if code == errno.EEXIST:
            return False
        if code:
            raise OSError(code, f"cannot add {interface} to interface {index}: {errno.errorcode.get(code, code)}")
        return True

    def delete(self, index: int, interface: Interface, body: bytes | None = None) -> bool:
        """Delete the address (BODY: its `deletion`, built ahead); False if it was not there (EADDRNOTAVAIL) or
        the interface is gone (ENODEV)."""
        code = self._code(RTM_DELADDR, 0, body or self.deletion(index, interface))
        if code in (errno.EADDRNOTAVAIL, errno.ENODEV):
            return False
        if code:
            raise OSError(code, f"cannot remove {interface} from interface {index}: {errno.errorcode.get(code, code)}")
        return True

    def _code(self, kind: int, flags: int, body: bytes) -> int:
        """Send one address request and return the ack's errno (0: done)."""
        reply = self.exchange(kind, flags, body)
        return reply if isinstance(reply, int) else 0


def _body(index: int, interface: Interface, scope: int, attrs: bytes) -> bytes:
    family = socket.AF_INET if interface.version == 4 else socket.AF_INET6
    return address_body(family, interface.network.prefixlen, scope, index, interface.ip.packed, attrs)
