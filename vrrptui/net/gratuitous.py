"""Gratuitous ARP (IPv4) and unsolicited neighbour adverts (IPv6) for a new master's VIPs.

Frames are built by hand and sent on AF_PACKET sockets (CAP_NET_RAW), byte for byte in
the form keepalived 2.x sends, so switches and neighbours react the same way. A socket is
kept open by GratuitousSender: closing one costs an RCU grace period in the kernel.
"""

from __future__ import annotations

import fcntl
import ipaddress
import socket
import struct
from typing import NamedTuple

from vrrptui.protocol.packet import internet_checksum, pseudo_header

ETH_P_ARP = 0x0806
ETH_P_IPV6 = 0x86DD
ARPHRD_ETHER = 1
ARPOP_REQUEST = 1
SIOCGIFHWADDR = 0x8927
ICMPV6_NEIGHBOUR_ADVERT = 136
ND_OPT_TARGET_LL_ADDR = 2
ALL_NODES = ipaddress.IPv6Address("ff02::1")
ALL_NODES_MAC = b"\x33\x33\x00\x00\x00\x01"  # RFC 2464 7: 33:33 + low 32 bits of ff02::1
BROADCAST_MAC = b"\xff" * 6
NA_FLAG_ROUTER = 0x80000000
NA_FLAG_OVERRIDE = 0x20000000  # RFC 4861 4.4: replace the cached link-layer address


def mac_bytes(mac: str) -> bytes:
    parts = mac.replace("-", ":").split(":")
    if len(parts) != 6:
        raise ValueError(f"MAC address {mac!r}: expected six hex bytes like 00:00:5e:00:01:0a")
    try:
        return bytes(int(p, 16) for p in parts)
    except ValueError:
        raise ValueError(f"MAC address {mac!r}: expected six hex bytes like 00:00:5e:00:01:0a") from None


def interface_mac(ifname: str, probe: socket.socket) -> bytes:
    """The hardware address of `ifname` (SIOCGIFHWADDR on PROBE, any socket) in PROBE's namespace."""
    try:
        reply = fcntl.ioctl(probe.fileno(), SIOCGIFHWADDR, struct.pack("16s16x", ifname.encode()))
    except OSError as exc:
        raise OSError(exc.errno, f"interface {ifname!r}: cannot read its MAC address ({exc.strerror})") from exc
    return reply[18:24]  # struct ifreq: name[16], sa_family (2), sa_data


def garp_frame(address: ipaddress.IPv4Address, mac: bytes) -> bytes:
    """Broadcast ARP request with sender = target = the VIP, target MAC ff:ff:ff:ff:ff:ff (keepalived's form)."""
    ethernet = BROADCAST_MAC + mac + struct.pack("!H", ETH_P_ARP)
    arp = struct.pack("!HHBBH", ARPHRD_ETHER, 0x0800, 6, 4, ARPOP_REQUEST)
    arp += mac + address.packed + BROADCAST_MAC + address.packed
    return ethernet + arp


def unsolicited_na_frame(address: ipaddress.IPv6Address, mac: bytes, router: bool = False) -> bytes:
    """RFC 4861 4.4 / 7.2.6: NA from the VIP to ff02::1, override set, target link-layer option."""
    flags = NA_FLAG_OVERRIDE | (NA_FLAG_ROUTER if router else 0)
    option = struct.pack("!BB", ND_OPT_TARGET_LL_ADDR, 1) + mac
    icmp = struct.pack("!BBHI", ICMPV6_NEIGHBOUR_ADVERT, 0, 0, flags) + address.packed + option
    # RFC 4443 2.3: the checksum covers the RFC 8200 8.1 pseudo-header (next header 58)
    pseudo = pseudo_header(address, ALL_NODES, len(icmp), socket.IPPROTO_ICMPV6)
    icmp = icmp[:2] + internet_checksum(pseudo + icmp).to_bytes(2, "big") + icmp[4:]
    # version 6, traffic class 0, flow 0; hop limit 255 as RFC 4861 7.1.2 requires
    ipv6 = struct.pack("!IHBB", 6 << 28, len(icmp), socket.IPPROTO_ICMPV6, 255) + address.packed + ALL_NODES.packed
    ethernet = ALL_NODES_MAC + mac + struct.pack("!H", ETH_P_IPV6)
    return ethernet + ipv6 + icmp


class Announcement(NamedTuple):
    """One GARP or unsolicited NA, built: where it goes out and its Ethernet frame."""

    ifname: str
    frame: bytes
    ethertype: int


def _ipv6_forwarding(ifname: str) -> bool:
    # keepalived sets the NA router flag when the interface forwards IPv6
    try:
        with open(f"/proc/sys/net/ipv6/conf/{ifname}/forwarding") as f:
            return f.read().strip() == "1"
    except OSError:
        return False


class GratuitousSender:
    """Sends GARPs and unsolicited NAs on one AF_PACKET socket kept open.

    Closing an AF_PACKET socket waits for an RCU grace period in the kernel (~10 ms
    measured here): a socket per frame stalled a master of 255 VIPs for seconds.
    The socket belongs to the namespace it was opened in: use one sender per namespace.
    A new master's frames are built first (`announcement`), then sent back to back (`send`).
    """

    def __init__(self) -> None:
        self._sock: socket.socket | None = None

    def announcement(self, ifname: str, address: ipaddress.IPv4Address | ipaddress.IPv6Address, mac: str | None = None,
                     *, router: bool | None = None) -> Announcement:
        """The GARP (IPv4) or unsolicited NA (IPv6) for `address` out of `ifname`, from `mac` (default: the
        interface's MAC, read now). With use_vmac, pass the base interface and the VMAC, as keepalived does.
        `router` sets an NA's R flag; None: whether `ifname` forwards IPv6 (keepalived's rule)."""
        source = mac_bytes(mac) if mac else interface_mac(ifname, self._socket())  # no socket per frame
        if address.version == 4:
            return Announcement(ifname, garp_frame(ipaddress.IPv4Address(address), source), ETH_P_ARP)
        if router is None:
            router = _ipv6_forwarding(ifname)
        return Announcement(ifname, unsolicited_na_frame(ipaddress.IPv6Address(address), source, router), ETH_P_IPV6)

    def send(self, announcement: Announcement) -> None:
        try:
            self._socket().sendto(announcement.frame, (announcement.ifname, announcement.ethertype))
        except OSError as exc:
            raise OSError(exc.errno, f"cannot send on {announcement.ifname}: {exc.strerror}") from exc

    def send_garp(self, ifname: str, address: ipaddress.IPv4Address, mac: str | None = None) -> None:
        """One gratuitous ARP for `address` out of `ifname`, from `mac` (default: the interface's MAC)."""
        self.send(self.announcement(ifname, ipaddress.IPv4Address(address), mac))

    def send_unsolicited_na(
        self, ifname: str, address: ipaddress.IPv6Address, mac: str | None = None, *, router: bool | None = None
    ) -> None:
        """One unsolicited neighbour advert for `address` out of `ifname` (see `announcement`)."""
        self.send(self.announcement(ifname, ipaddress.IPv6Address(address), mac, router=router))

    def _socket(self) -> socket.socket:
        if self._sock is None:
            self._sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
        return self._sock

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def __enter__(self) -> GratuitousSender:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def send_garp(ifname: str, address: ipaddress.IPv4Address, mac: str | None = None) -> None:
    """One-off gratuitous ARP (see GratuitousSender.send_garp); a daemon keeps a sender instead."""
    with GratuitousSender() as sender:
        sender.send_garp(ifname, address, mac)


def send_unsolicited_na(
    ifname: str, address: ipaddress.IPv6Address, mac: str | None = None, *, router: bool | None = None
) -> None:
    """One-off unsolicited NA (see GratuitousSender.send_unsolicited_na)."""
    with GratuitousSender() as sender:
        sender.send_unsolicited_na(ifname, address, mac, router=router)
