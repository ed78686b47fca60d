"""Raw IP protocol 112 sockets: one per (interface, family), for sending and receiving adverts.

IPv4 sockets for IP protocol 51 (AH, keepalived's `auth_type AH`) carry whole datagrams
both ways: the AH ICV covers the IPv4 header, so it is built by the caller (IP_HDRINCL)
and handed back whole on receipt.

Runs in the network namespace of the calling process. Needs CAP_NET_RAW (raw socket,
SO_BINDTODEVICE). A socket is tied to its interface index: if the interface is deleted and
recreated (a VMAC, a hot-plugged NIC), close it and open a new one. The VRRP message is built and checked elsewhere
(vrrptui.protocol.packet); this module only moves bytes and reports TTL and addresses.
"""

from __future__ import annotations

import functools
import ipaddress
import socket
import struct
import time
from typing import NamedTuple

from vrrptui.protocol import VRRP_PROTO, VRRP_TTL

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

AH_PROTO = 51
MCAST_V4 = ipaddress.IPv4Address("224.0.0.18")
MCAST_V6 = ipaddress.IPv6Address("ff02::12")
VRRP_TOS = 0xC0  # internetwork control precedence, as keepalived sets

# Linux values missing from Python 3.11's socket module (include/uapi/linux/in.h).
IP_PKTINFO = getattr(socket, "IP_PKTINFO", 8)
IP_TRANSPARENT = getattr(socket, "IP_TRANSPARENT", 19)
IPV6_TRANSPARENT = getattr(socket, "IPV6_TRANSPARENT", 75)
IP_MULTICAST_ALL = getattr(socket, "IP_MULTICAST_ALL", 49)
IPV6_MULTICAST_ALL = getattr(socket, "IPV6_MULTICAST_ALL", 29)

_IN_PKTINFO = struct.Struct("=i4s4s")  # ipi_ifindex, ipi_spec_dst, ipi_addr
_IN6_PKTINFO = struct.Struct("=16si")  # ipi6_addr, ipi6_ifindex
_IP_MREQN = struct.Struct("=4s4si")  # imr_multiaddr, imr_address, imr_ifindex
_IPV6_MREQ = struct.Struct("=16si")
_INT = struct.Struct("=i")
_RECV_BUFSIZE = 65535
_ANC_BUFSIZE = socket.CMSG_SPACE(_IN6_PKTINFO.size) + socket.CMSG_SPACE(_INT.size)


class Received(NamedTuple):
    """One protocol-112 packet: the VRRP message and what the IP header said about it."""

    payload: bytes  # the VRRP message (after the IPv4 / IPv6 header); on an AH socket the whole IPv4 datagram
    src: IPAddress
    dst: IPAddress
    ttl: int  # TTL (IPv4) or hop limit (IPv6)


_received = functools.partial(tuple.__new__, Received)  # Received(...) without its Python-level __new__, per packet
_ADDRESS_PAIRS: dict[bytes, tuple[ipaddress.IPv4Address, ipaddress.IPv4Address]] = {}
_ADDRESS_PAIRS_MAX = 4096


def _ipv4_pair(packed: bytes) -> tuple[ipaddress.IPv4Address, ipaddress.IPv4Address]:
    """(source, destination) of an IPv4 header's 8 address bytes. A segment has a handful of routers:
    their address objects are reused, not parsed per packet (and the engine compares them by identity)."""
    pair = _ADDRESS_PAIRS.get(packed)
    if pair is None:
        if len(_ADDRESS_PAIRS) >= _ADDRESS_PAIRS_MAX:
            _ADDRESS_PAIRS.clear()
        pair = _ADDRESS_PAIRS[packed] = (ipaddress.IPv4Address(packed[:4]), ipaddress.IPv4Address(packed[4:]))
    return pair


class VrrpSocket:
    """A raw socket for IP protocol 112 bound to one interface and one address family.

    Receives every VRRP packet arriving on the interface (multicast once joined, or
    unicast to one of our addresses) and sends adverts with TTL / hop limit 255 and
    TOS / traffic class 0xc0. Non-blocking: wire `fileno()` into a selector or
    `loop.add_reader` and call `recv()` until it returns None.
    """

    def __init__(self, family: int, ifname: str, *, join_multicast: bool = True, protocol: int = VRRP_PROTO) -> None:
        if family in (4, socket.AF_INET):
            self.family = socket.AF_INET
        elif family in (6, socket.AF_INET6):
            self.family = socket.AF_INET6
        else:
            raise ValueError(f"address family {family}: use 4 or 6 (socket.AF_INET / AF_INET6)")
        if protocol not in (VRRP_PROTO, AH_PROTO) or (protocol == AH_PROTO and self.family != socket.AF_INET):
            raise ValueError(f"IP protocol {protocol}: use 112 (VRRP), or 51 (AH) on IPv4")
        self.protocol = protocol
        self.ifname = ifname
        try:
            self.ifindex = socket.if_nametoindex(ifname)
        except OSError as exc:
            raise OSError(exc.errno, f"interface {ifname!r} not found in this network namespace") from exc
        self.malformed = 0  # packets skipped because their IP header did not parse
        self._sock = socket.socket(self.family, socket.SOCK_RAW | socket.SOCK_NONBLOCK, protocol)
        try:
            self._configure(join_multicast)
        except BaseException:
            self._sock.close()
            raise
        self.multicast = join_multicast
        self.opened_at = time.monotonic()  # listening since (the event loop's clock)

    def _configure(self, join_multicast: bool) -> None:
        s = self._sock
        s.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, self.ifname.encode())
        if self.family == socket.AF_INET:
            if self.protocol == AH_PROTO:
                s.setsockopt(socket.IPPROTO_IP, socket.IP_HDRINCL, 1)
            s.setsockopt(socket.IPPROTO_IP, socket.IP_TTL, VRRP_TTL)
            s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, VRRP_TTL)
            s.setsockopt(socket.IPPROTO_IP, socket.IP_TOS, VRRP_TOS)
            s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, 0)
            # Only the groups this socket joined, not every group any socket joined
            s.setsockopt(socket.IPPROTO_IP, IP_MULTICAST_ALL, 0)
            s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, _IP_MREQN.pack(b"\0" * 4, b"\0" * 4, self.ifindex))
            try:  # a master whose address was just deleted still resigns from it (needs CAP_NET_ADMIN)
                s.setsockopt(socket.IPPROTO_IP, IP_TRANSPARENT, 1)
            except PermissionError:
                pass
            if join_multicast:
                mreq = _IP_MREQN.pack(MCAST_V4.packed, b"\0" * 4, self.ifindex)
                s.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, mreq)
        else:
            s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_UNICAST_HOPS, VRRP_TTL)
            s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, VRRP_TTL)
            s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_TCLASS, VRRP_TOS)
            s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_LOOP, 0)
            s.setsockopt(socket.IPPROTO_IPV6, IPV6_MULTICAST_ALL, 0)
            s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF, self.ifindex)
            s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_RECVHOPLIMIT, 1)
            s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_RECVPKTINFO, 1)
            try:  # as IPv4: a master whose link-local address was just deleted still resigns from it
                s.setsockopt(socket.IPPROTO_IPV6, IPV6_TRANSPARENT, 1)
            except PermissionError:
                pass
            if join_multicast:
                mreq = _IPV6_MREQ.pack(MCAST_V6.packed, self.ifindex)
                s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_JOIN_GROUP, mreq)

    def fileno(self) -> int:
        return self._sock.fileno()

    def send(self, payload: bytes, dst: IPAddress, src: IPAddress | None = None) -> None:
        """Send one VRRP message to `dst`, from `src` when given (else the kernel's choice).

        The checksum is the caller's: a v3 pseudo-header checksum needs the source
        address, so pass `src` whenever the message was built for a particular one.
        On an AH socket `payload` is the whole IPv4 datagram (its header names the source).
        Raises OSError (e.g. ENETDOWN, EADDRNOTAVAIL for a source we do not own).
        """
        if self.family == socket.AF_INET:
            if dst.version != 4 or (src is not None and src.version != 4):
                raise ValueError(f"IPv4 socket on {self.ifname}: cannot send {src} -> {dst}")
            ancillary = []
            if src is not None and self.protocol == VRRP_PROTO:
                # ip(7): ipi_spec_dst is the source address; ifindex 0 lets SO_BINDTODEVICE decide
                pktinfo = _IN_PKTINFO.pack(0, src.packed, b"\0" * 4)
                ancillary.append((socket.IPPROTO_IP, IP_PKTINFO, pktinfo))
            self._sock.sendmsg([payload], ancillary, 0, (str(dst), 0))
        else:
            if dst.version != 6 or (src is not None and src.version != 6):
                raise ValueError(f"IPv6 socket on {self.ifname}: cannot send {src} -> {dst}")
            ancillary = []
            if src is not None:
                pktinfo = _IN6_PKTINFO.pack(src.packed, self.ifindex)
                ancillary.append((socket.IPPROTO_IPV6, socket.IPV6_PKTINFO, pktinfo))
            # the scope id matters for link-local and ff02:: destinations only; the kernel ignores it otherwise
            self._sock.sendmsg([payload], ancillary, 0, (str(dst), 0, 0, self.ifindex))

    def recv(self) -> Received | None:
        """The next VRRP packet, or None when none is queued. Malformed IP headers are skipped."""
        while True:
            try:
                if self.family == socket.AF_INET:  # the IP header carries TTL and addresses: no ancillary data
                    received = self._parse_ipv4(self._sock.recv(_RECV_BUFSIZE))
                else:
                    data, ancdata, _flags, address = self._sock.recvmsg(_RECV_BUFSIZE, _ANC_BUFSIZE)
                    received = self._parse_ipv6(data, ancdata, address)
            except (BlockingIOError, InterruptedError):
                return None
            if received is not None:
                return received
            self.malformed += 1

    def _parse_ipv4(self, data: bytes) -> Received | None:
        # raw IPv4 sockets deliver the IP header (ip(7)); the kernel validated it, but stay defensive
        if len(data) < 20 or data[0] >> 4 != 4:
            return None
        header_len = (data[0] & 0x0F) * 4
        total_len = data[2] << 8 | data[3]
        if header_len < 20 or len(data) < header_len or data[9] != self.protocol:
            return None
        end = total_len if header_len <= total_len <= len(data) else len(data)
        src, dst = _ipv4_pair(data[12:20])
        return _received((data[header_len if self.protocol == VRRP_PROTO else 0 : end], src, dst, data[8]))

    def _parse_ipv6(self, data: bytes, ancdata: list, address: tuple) -> Received | None:
        # raw IPv6 sockets deliver the payload only (ipv6(7)): TTL and dst come as ancillary data
        hop_limit: int | None = None
        dst: IPAddress | None = None
        for level, kind, value in ancdata:
            if level != socket.IPPROTO_IPV6:
                continue
            if kind == socket.IPV6_HOPLIMIT and len(value) >= _INT.size:
                hop_limit = _INT.unpack_from(value)[0]
            elif kind == socket.IPV6_PKTINFO and len(value) >= _IN6_PKTINFO.size:
                raw_dst, _ifindex = _IN6_PKTINFO.unpack_from(value)
                dst = ipaddress.IPv6Address(raw_dst)
        if hop_limit is None or dst is None:
            return None
        try:
            src = ipaddress.IPv6Address(address[0].split("%", 1)[0])
        except (ValueError, IndexError, AttributeError):
            return None
        return Received(bytes(data), src, dst, hop_limit)

    def close(self) -> None:
        self._sock.close()

    def __enter__(self) -> VrrpSocket:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        family = 4 if self.family == socket.AF_INET else 6
        return f"VrrpSocket(IPv{family}, {self.ifname!r}, proto={self.protocol}, fd={self._sock.fileno()})"
