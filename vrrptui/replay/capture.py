"""Read a pcap / pcapng with scapy into Heard (VRRP) and Claim (ARP, neighbour adverts) records.

Any link type tcpdump writes works: Ethernet (`-i eth0`), Linux cooked (`-i any`) and raw IP
(the console's `w`). Times are the capture's, epoch seconds. VRRP is decoded by vrrptui's
own codec, so a replay drops exactly what the engine would drop, for the same reason.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from pathlib import Path

from vrrptui.records import Heard
from vrrptui.records import Claim
from vrrptui.protocol.packet import VRRP_PROTO, decode

Record = Heard | Claim


class CaptureError(RuntimeError):
    """The file is not a capture scapy can read (what, and what to do)."""


@dataclass(frozen=True, slots=True)
class CaptureFile:
    path: Path
    records: tuple[Record, ...]  # in capture order
    packets: int  # every packet in the file, VRRP or not


def read_capture(path: str | Path, ifname: str = "pcap") -> CaptureFile:
    """Every VRRP packet and every ARP / NA answer in `path`."""
    import scapy.layers.inet6  # noqa: F401  (registers the link and IP layers before the first packet is read)
    from scapy.error import Scapy_Exception
    from scapy.utils import PcapReader

    p = Path(path)
    records: list[Record] = []
    count = 0
    try:
        with PcapReader(str(p)) as reader:
            for pkt in reader:
                count += 1
                records.extend(_records(pkt, float(pkt.time), ifname))
    except FileNotFoundError:
        raise CaptureError(f"{p}: no such file") from None
    except (Scapy_Exception, EOFError, ValueError, OSError) as exc:
        raise CaptureError(f"{p}: not a pcap or pcapng capture scapy can read ({exc}); "
                           "record one with `tcpdump -i IFACE -w FILE vrrp or arp or icmp6`") from None
    return CaptureFile(p, tuple(records), count)


def _records(pkt, at: float, ifname: str) -> list[Record]:
    from scapy.layers.inet import IP
    from scapy.layers.inet6 import ICMPv6ND_NA, ICMPv6NDOptDstLLAddr, IPv6
    from scapy.layers.l2 import ARP, Ether

    mac = pkt[Ether].src.lower() if Ether in pkt else None
    if ARP in pkt:
        arp = pkt[ARP]
        if arp.op == 2 or arp.psrc == arp.pdst:  # a reply, or a gratuitous request / reply
            kind = "announce" if arp.psrc == arp.pdst else "reply"
            return [Claim(str(arp.psrc), arp.hwsrc.lower(), at, kind)]
        return []
    if IP in pkt and pkt[IP].proto == VRRP_PROTO:
        ip = pkt[IP]
        return [_heard(ifname, at, ip.src, ip.dst, ip.ttl, bytes(ip.payload)[:max(0, ip.len - ip.ihl * 4)], mac)]
    if IPv6 in pkt:
        ip6 = pkt[IPv6]
        if ip6.nh == VRRP_PROTO:
            return [_heard(ifname, at, ip6.src, ip6.dst, ip6.hlim, bytes(ip6.payload)[:ip6.plen], mac)]
        if ICMPv6ND_NA in pkt:
            na = pkt[ICMPv6ND_NA]
            option = pkt[ICMPv6NDOptDstLLAddr].lladdr.lower() if ICMPv6NDOptDstLLAddr in pkt else mac
            if option:
                return [Claim(str(ipaddress.ip_address(na.tgt)), option, at, "reply" if na.S else "announce")]
    return []


def _heard(ifname: str, at: float, src: str, dst: str, ttl: int, payload: bytes, mac: str | None) -> Heard:
    s, d = ipaddress.ip_address(src), ipaddress.ip_address(dst)
    return Heard(ifname, at, s, d, ttl, decode(payload, s, d), payload, mac)
