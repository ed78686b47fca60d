"""Raw IP protocol 112 sockets: one per (interface, family), for sending and receiving adverts.

IPv4 sockets for IP protocol 51 (AH, keepalived's `auth_type AH`) carry whole datagrams
both ways: the AH ICV covers the IPv4 header, so it is built by the caller (IP_HDRINCL)
and handed back whole on receipt.

Runs in the network namespace of the calling process. Needs CAP_NET_RAW (raw socket,
SO_BINDTODEVICE). A socket is tied to its interface index: if the interface is deleted and
recreated (a VMAC, a hot-plugged NIC), close it and open a new one. The VRRP message is built and checked elsewhere
(vrrptui.protocol.packet); this module only moves bytes and reports TTL and addresses. The
socket is opened and set up by vrrptui.net.rawopen (which a restart uses before this module is imported).
"""

from __future__ import annotations

import fcntl
import functools
import ipaddress
import select
import socket
import struct
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, NamedTuple

from vrrptui.net.rawopen import IN6_PKTINFO, joined_v6, open_raw, rejoin_v6, source_pktinfo
from vrrptui.net.rawopen import AH_PROTO  # noqa: F401  (for the pool and runtime)
from vrrptui.protocol import VRRP_PROTO

if TYPE_CHECKING:
    import _socket

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

MCAST_V4 = ipaddress.IPv4Address("224.0.0.18")
MCAST_V6 = ipaddress.IPv6Address("ff02::12")
_INT = struct.Struct("=i")
_RECV_BUFSIZE = 65535
SIOCGSTAMPNS = 0x8907  # the kernel's receive time (CLOCK_REALTIME) of the last packet read: socket(7)
_TIMESPEC = struct.Struct("=qq")
MAX_AGE = 1.0  # seconds: an older stamp (or one from the future) means the wall clock stepped: the age is 0
_ANC_BUFSIZE = socket.CMSG_SPACE(IN6_PKTINFO.size) + socket.CMSG_SPACE(_INT.size)


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

    def __init__(self, family: int, ifname: str, *, join_multicast: bool = True, protocol: int = VRRP_PROTO,
                 opened: tuple[_socket.socket, int, int, float] | None = None) -> None:
        """OSError, ValueError: see rawopen.open_raw. OPENED: a socket open_raw opened earlier (its socket,
        family and interface index, and when), adopted as it is (daemon/earlylisten.py)."""
        if opened is None:
            raw, self.family, self.ifindex = open_raw(family, ifname, join_multicast=join_multicast, protocol=protocol)
            self.opened_at = time.monotonic()  # listening since (the event loop's clock)
        else:
            raw, self.family, self.ifindex, self.opened_at = opened
        self.protocol = protocol
        self.ifname = ifname
        self.multicast = join_multicast
        self.malformed = 0  # packets skipped because their IP header did not parse
        self._sock = socket.socket(fileno=raw.detach())
        self._sock.setblocking(False)
        # Is anything queued? A wake-up mostly finds one packet: asking epoll costs a fifth of a read
        # failing with EAGAIN (the exception is the expensive part)
        self._queued = select.epoll()
        self._queued.register(self._sock.fileno(), select.EPOLLIN)
        self.age()  # the first ask turns the kernel's receive stamps on (and finds none yet)

    def rejoin(self) -> bool:
        """An IPv6 multicast socket whose interface lost its IPv6 state (MTU below 1280 and back) joins
        ff02::12 again; True when it had to."""
        if not self.multicast or self.family != socket.AF_INET6 or joined_v6(self.ifindex):
            return False
        rejoin_v6(self._sock, self.ifindex)
        return True

    def fileno(self) -> int:
        return self._sock.fileno()

    def age(self) -> float:
        """Seconds since the last packet read arrived, as the kernel stamped it on receipt (0 when unknown).

        A packet's time is when it arrived, not when the event loop got to it: a Master_Down_Timer set
        from a priority-0 advert then runs out Skew_Time after the advert, whatever the wake-up took."""
        try:
            sec, nsec = _TIMESPEC.unpack(fcntl.ioctl(self._sock.fileno(), SIOCGSTAMPNS, bytes(_TIMESPEC.size)))
        except OSError:  # ENOENT: nothing read since the stamps were turned on
            return 0.0
        age = time.time() - (sec + nsec * 1e-9)
        return age if 0.0 <= age <= MAX_AGE else 0.0

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
                ancillary.append(source_pktinfo(socket.AF_INET, src.packed, 0))  # ip(7): ipi_spec_dst
            self._sock.sendmsg([payload], ancillary, 0, (str(dst), 0))
        else:
            if dst.version != 6 or (src is not None and src.version != 6):
                raise ValueError(f"IPv6 socket on {self.ifname}: cannot send {src} -> {dst}")
            ancillary = []
            if src is not None:
                ancillary.append(source_pktinfo(socket.AF_INET6, src.packed, self.ifindex))
            # the scope id matters for link-local and ff02:: destinations only; the kernel ignores it otherwise
            self._sock.sendmsg([payload], ancillary, 0, (str(dst), 0, 0, self.ifindex))

    def recv(self) -> Received | None:
        """The next VRRP packet, or None when none is queued. Malformed IP headers are skipped."""
        got = self.drain(1)
        return got[0] if got else None

    def drain(self, limit: int) -> list[Received]:
        """The queued VRRP packets, at most `limit` (one wake-up's worth). Malformed IP headers are skipped."""
        got: list[Received] = []
        ipv4 = self.family == socket.AF_INET  # the IP header carries TTL and addresses: no ancillary data
        recv, recvmsg = self._sock.recv, self._sock.recvmsg
        while len(got) < limit:
            try:
                if ipv4:
                    received = self._parse_ipv4(recv(_RECV_BUFSIZE))
                else:
                    data, ancdata, _flags, address = recvmsg(_RECV_BUFSIZE, _ANC_BUFSIZE)
                    received = self._parse_ipv6(data, ancdata, address)
            except (BlockingIOError, InterruptedError):
                break
            if received is None:
                self.malformed += 1
                continue
            got.append(received)
            if len(got) == 1 and limit > 1 and not self._queued.poll(0):
                break
        return got

    def batches(self, limit: int) -> Iterator[list[Received]]:
        """A wake-up's packets, `limit` in all: what is queued, then, while the caller handled it, more
        arrived (a master's burst), what is queued then. Asking epoll costs less than another wake-up."""
        while limit > 0 and (got := self.drain(limit)):
            yield got
            limit -= len(got)
            if not self._queued.poll(0):
                return

    def _parse_ipv4(self, data: bytes) -> Received | None:
        # raw IPv4 sockets deliver the IP header (ip(7)); the kernel validated it, but stay defensive
        if len(data) < 20 or data[0] >> 4 != 4:
            return None
        header_len = (data[0] & 0x0F) * 4
        total_len = data[2] << 8 | data[3]
        if header_len < 20 or len(data) < header_len or data[9] != self.protocol:
            return None
        end = total_len if header_len <= total_len <= len(data) else len(data)
        src, dst = _ADDRESS_PAIRS.get(data[12:20]) or _ipv4_pair(data[12:20])
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
            elif kind == socket.IPV6_PKTINFO and len(value) >= IN6_PKTINFO.size:
                raw_dst, _ifindex = IN6_PKTINFO.unpack_from(value)
                dst = ipaddress.IPv6Address(raw_dst)
        if hop_limit is None or dst is None:
            return None
        try:
            src = ipaddress.IPv6Address(address[0].split("%", 1)[0])
        except (ValueError, IndexError, AttributeError):
            return None
        return Received(bytes(data), src, dst, hop_limit)

    def close(self) -> None:
        self._queued.close()
        self._sock.close()

    def __enter__(self) -> VrrpSocket:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        family = 4 if self.family == socket.AF_INET else 6
        return f"VrrpSocket(IPv{family}, {self.ifname!r}, proto={self.protocol}, fd={self._sock.fileno()})"
