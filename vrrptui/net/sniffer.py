"""Passive capture of VRRP frames on one interface, for the console and `vrrptui sniff`.

An AF_PACKET socket (CAP_NET_RAW) sees every frame on the interface, ours included
(PACKET_OUTGOING) and, with promiscuous mode, unicast between other hosts when the
segment floods it to us. A classic BPF filter keeps everything but IPv4/IPv6 protocol
112 and IPv4 AH (keepalived's `auth_type AH`) in the kernel, so a busy segment costs
Python nothing. Kernel receive timestamps (SO_TIMESTAMPNS) make takeover latencies
measurable to the microsecond.
"""

from __future__ import annotations

import ctypes
import ipaddress
import socket
import struct
import time
from dataclasses import dataclass

from vrrptui.protocol import ah

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

VRRP_PROTO = 112
ETH_P_ALL = 0x0003
ETH_P_IP = 0x0800
ETH_P_IPV6 = 0x86DD
ETH_HLEN = 14
SOL_PACKET = 263
PACKET_ADD_MEMBERSHIP = 1
PACKET_MR_PROMISC = 1
PACKET_OUTGOING = 4
SO_ATTACH_FILTER = 26
SO_TIMESTAMPNS = 35
SCM_TIMESTAMPNS = SO_TIMESTAMPNS
_TIMESPEC = struct.Struct("=qq")
_SNAPLEN = 65535

# Classic BPF: accept IPv4 with protocol 112 or 51 (AH, whose next header parse_frame checks)
# or IPv6 with next header 112 (no extension headers: VRRP never carries any), drop the rest.
# (code, jt, jf, k); jumps are relative.
_VRRP_FILTER = (
    (0x28, 0, 0, 12),  # ldh [12]            ethertype
    (0x15, 0, 3, ETH_P_IP),  # jeq #0x800 ? next : +3
    (0x30, 0, 0, ETH_HLEN + 9),  # ldb [23]   IPv4 protocol
    (0x15, 4, 0, VRRP_PROTO),  # jeq #112 ? accept : next
    (0x15, 3, 4, ah.AH_PROTO),  # jeq #51 ? accept : drop
    (0x15, 0, 3, ETH_P_IPV6),  # jeq #0x86dd ? next : drop
    (0x30, 0, 0, ETH_HLEN + 6),  # ldb [20]   IPv6 next header
    (0x15, 0, 1, VRRP_PROTO),  # jeq #112 ? accept : drop
    (0x06, 0, 0, _SNAPLEN),  # ret #65535   accept
    (0x06, 0, 0, 0),  # ret #0     drop
)


def _mac(raw: bytes) -> str:
    return ":".join(f"{b:02x}" for b in raw)


@dataclass(frozen=True)
class Captured:
    ts: float  # kernel receive time, seconds since the epoch (time.time() scale)
    frame: bytes  # the whole Ethernet frame, for pcap files
    src_mac: str
    dst_mac: str
    family: int  # 4 or 6
    src: IPAddress
    dst: IPAddress
    ttl: int  # TTL or hop limit
    payload: bytes  # the VRRP message (inside the AH header for keepalived's auth_type AH)
    outgoing: bool  # sent by this host (PACKET_OUTGOING)


def parse_frame(frame: bytes, ts: float = 0.0, outgoing: bool = False) -> Captured | None:
    """The VRRP packet in an Ethernet frame, or None if it is not one (never raises)."""
    if len(frame) < ETH_HLEN:
        return None
    ethertype = int.from_bytes(frame[12:14], "big")
    ip_start = ETH_HLEN
    if ethertype == 0x8100 and len(frame) >= ETH_HLEN + 4:  # 802.1Q tag left in the frame
        ethertype = int.from_bytes(frame[16:18], "big")
        ip_start += 4
    ip = frame[ip_start:]
    src: ipaddress.IPv4Address | ipaddress.IPv6Address
    dst: ipaddress.IPv4Address | ipaddress.IPv6Address
    if ethertype == ETH_P_IP and len(ip) >= 20 and ip[9] == ah.AH_PROTO:
        packet = ah.parse(bytes(ip))
        if not isinstance(packet, ah.AhPacket):
            return None
        family, src, dst, ttl, payload = 4, packet.src, packet.dst, packet.ttl, packet.message
    elif ethertype == ETH_P_IP:
        if len(ip) < 20 or ip[0] >> 4 != 4 or ip[9] != VRRP_PROTO:
            return None
        header_len = (ip[0] & 0x0F) * 4
        total = int.from_bytes(ip[2:4], "big")
        if header_len < 20 or len(ip) < header_len:
            return None
        end = total if header_len <= total <= len(ip) else len(ip)
        family, src, dst = 4, ipaddress.IPv4Address(ip[12:16]), ipaddress.IPv4Address(ip[16:20])
        ttl, payload = ip[8], ip[header_len:end]
    elif ethertype == ETH_P_IPV6:
        if len(ip) < 40 or ip[0] >> 4 != 6 or ip[6] != VRRP_PROTO:
            return None
        end = min(40 + int.from_bytes(ip[4:6], "big"), len(ip))
        family, src, dst = 6, ipaddress.IPv6Address(ip[8:24]), ipaddress.IPv6Address(ip[24:40])
        ttl, payload = ip[7], ip[40:end]
    else:
        return None
    return Captured(
        ts, bytes(frame), _mac(frame[6:12]), _mac(frame[0:6]), family, src, dst, ttl, bytes(payload), outgoing
    )


class VrrpSniffer:
    """Captures VRRP frames on `ifname`. Non-blocking: `recv()` until it returns None."""

    def __init__(self, ifname: str, *, promiscuous: bool = True) -> None:
        self.ifname = ifname
        # protocol 0: receives nothing until bound, so no unfiltered frame slips in before the filter
        self._sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW | socket.SOCK_NONBLOCK, 0)
        try:
            self._filter = _attach_filter(self._sock, _VRRP_FILTER)
            self._sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
            try:
                self._sock.bind((ifname, ETH_P_ALL))
            except OSError as exc:
                raise OSError(exc.errno, f"cannot capture on {ifname!r}: {exc.strerror}") from exc
            if promiscuous:
                index = socket.if_nametoindex(ifname)
                mreq = struct.pack("=iHH8s", index, PACKET_MR_PROMISC, 0, b"")
                self._sock.setsockopt(SOL_PACKET, PACKET_ADD_MEMBERSHIP, mreq)  # dropped when the socket closes
        except BaseException:
            self._sock.close()
            raise

    def fileno(self) -> int:
        return self._sock.fileno()

    def recv(self) -> Captured | None:
        while True:
            try:
                frame, ancdata, _flags, address = self._sock.recvmsg(_SNAPLEN, socket.CMSG_SPACE(_TIMESPEC.size))
            except (BlockingIOError, InterruptedError):
                return None
            ts = None
            for level, kind, data in ancdata:
                if level == socket.SOL_SOCKET and kind == SCM_TIMESTAMPNS and len(data) >= _TIMESPEC.size:
                    sec, nsec = _TIMESPEC.unpack_from(data)
                    ts = sec + nsec / 1e9
            captured = parse_frame(frame, ts if ts is not None else time.time(), address[2] == PACKET_OUTGOING)
            if captured is not None:
                return captured

    def close(self) -> None:
        self._sock.close()

    def __enter__(self) -> VrrpSniffer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _attach_filter(sock: socket.socket, program: tuple[tuple[int, int, int, int], ...]) -> ctypes.Array:
    code = b"".join(struct.pack("=HBBI", *insn) for insn in program)
    buffer = ctypes.create_string_buffer(code)
    fprog = struct.pack("HP", len(program), ctypes.addressof(buffer))  # struct sock_fprog, native layout
    sock.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER, fprog)
    return buffer  # the kernel copied it; kept alive anyway for clarity
