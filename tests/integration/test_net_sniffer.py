"""VrrpSniffer on a bridged segment: three hosts on a bridge namespace."""

from __future__ import annotations

import ipaddress
import select
import time

import pytest
from net_helpers import in_netns, ip, link_mac, namespaces, nsexec, veth

from vrrptui.net.sniffer import Captured, VrrpSniffer, parse_frame
from vrrptui.net.sockets import MCAST_V4, MCAST_V6, VrrpSocket
from vrrptui.protocol import ah
from vrrptui.protocol.packet import AUTH_AH, Advert, decode, encode

pytestmark = pytest.mark.netns

A, B, C = (ipaddress.IPv4Address(f"10.0.0.{i}") for i in (1, 2, 3))
A6 = ipaddress.IPv6Address("fe80::1")


@pytest.fixture
def segment(netns_ok: None):
    """Hosts A, B, C (eth0 each) on bridge br0 in a bridge namespace (no multicast snooping)."""
    with namespaces("sn-br", "sn-a", "sn-b", "sn-c") as (ns_br, *hosts):
        ip("-n", ns_br, "link", "add", "br0", "type", "bridge", "mcast_snooping", "0")
        ip("-n", ns_br, "link", "set", "br0", "up")
        for port, ns, address in zip(("pa", "pb", "pc"), hosts, (A, B, C), strict=False):
            veth(ns, "eth0", ns_br, port)
            ip("-n", ns_br, "link", "set", port, "master", "br0")
            ip("-n", ns, "addr", "add", f"{address}/24", "dev", "eth0")
        ip("-n", hosts[0], "addr", "add", f"{A6}/64", "dev", "eth0", "nodad")
        yield ns_br, *hosts


def capture(sniffer: VrrpSniffer, count: int, timeout: float = 3.0) -> list[Captured]:
    got: list[Captured] = []
    deadline = time.monotonic() + timeout
    while len(got) < count:
        remaining = deadline - time.monotonic()
        ready, _, _ = select.select([sniffer], [], [], max(remaining, 0))
        if not ready:
            break
        while (item := sniffer.recv()) is not None:
            got.append(item)
    return got


def advert(src, dst, vrid=51) -> bytes:
    return encode(
        Advert.from_fields(3, vrid, 100, 0.1, ["10.0.0.100"] if src.version == 4 else ["fe80::100"]), src, dst
    )


def test_bridge_sniffer_sees_unicast_between_two_other_hosts_and_only_vrrp(segment):
    ns_br, ns_a, ns_b, _ = segment
    nsexec(ns_a, "ping", "-c", "1", "-W", "2", str(B))  # the bridge learns both MACs: A -> B is now unicast-only
    with in_netns(ns_br):
        sniffer = VrrpSniffer("br0")
    with in_netns(ns_a):
        sender = VrrpSocket(4, "eth0")
    try:
        nsexec(ns_a, "ping", "-c", "2", "-i", "0.2", "-W", "2", str(B))  # not VRRP: filtered in the kernel
        before = time.time()
        sender.send(advert(A, B), B)
        sender.send(advert(A, MCAST_V4, vrid=52), MCAST_V4)
        got = capture(sniffer, 2)
        time.sleep(0.1)
        assert sniffer.recv() is None  # pings never surfaced
    finally:
        sender.close()
        sniffer.close()
    assert [(c.src, c.dst, c.ttl, c.family) for c in got] == [(A, B, 255, 4), (A, MCAST_V4, 255, 4)]
    unicast = got[0]
    assert unicast.src_mac == link_mac(ns_a, "eth0") and unicast.dst_mac == link_mac(ns_b, "eth0")
    assert not unicast.outgoing
    assert before - 1 < unicast.ts < time.time()
    decoded = decode(unicast.payload, unicast.src, unicast.dst)
    assert isinstance(decoded, Advert) and decoded.vrid == 51
    assert parse_frame(unicast.frame) is not None and parse_frame(unicast.frame).payload == unicast.payload


def test_host_sniffer_flags_its_own_adverts_as_outgoing(segment):
    _, ns_a, _, ns_c = segment
    with in_netns(ns_a):
        sniffer = VrrpSniffer("eth0", promiscuous=False)
        sender4 = VrrpSocket(4, "eth0")
        sender6 = VrrpSocket(6, "eth0")
    with in_netns(ns_c):
        other = VrrpSocket(4, "eth0")
    try:
        sender4.send(advert(A, MCAST_V4), MCAST_V4)
        sender6.send(advert(A6, MCAST_V6), MCAST_V6, A6)
        other.send(advert(C, MCAST_V4, vrid=53), MCAST_V4)
        got = capture(sniffer, 3)
    finally:
        for s in (sniffer, sender4, sender6, other):
            s.close()
    summary = sorted((c.family, str(c.src), c.outgoing, c.ttl) for c in got)
    assert summary == [(4, str(A), True, 255), (4, str(C), False, 255), (6, str(A6), True, 255)]
    v6 = next(c for c in got if c.family == 6)
    assert v6.dst == MCAST_V6
    assert isinstance(decode(v6.payload, v6.src, v6.dst), Advert)


def test_parse_frame_never_raises_on_garbage():
    assert parse_frame(b"") is None
    assert parse_frame(b"\xff" * 13) is None
    ipv4_header_only = b"\0" * 12 + b"\x08\x00" + b"\x4f" + b"\0" * 8 + b"\x70"
    assert parse_frame(ipv4_header_only) is None
    for n in range(0, 80, 7):
        parse_frame(b"\0" * 12 + b"\x86\xdd" + b"\x60" + b"\x70" * n)


def test_sniffer_sees_the_vrrp_message_inside_keepalived_ah(segment):
    _, ns_a, _, ns_c = segment
    message = encode(Advert(2, 51, 100, 1.0, (ipaddress.IPv4Address("10.0.0.100"),), AUTH_AH, bytes(8)))
    datagram = ah.build(message, A, MCAST_V4, ip_id=1, sequence=1, key=ah.hmac_key("secret"), unicast=False)
    with in_netns(ns_c):
        sniffer = VrrpSniffer("eth0", promiscuous=False)
    with in_netns(ns_a):
        sender = VrrpSocket(4, "eth0", protocol=ah.AH_PROTO)
    try:
        sender.send(datagram, MCAST_V4)
        got = capture(sniffer, 1)
    finally:
        sender.close()
        sniffer.close()
    assert [(c.src, c.dst, c.ttl, c.payload) for c in got] == [(A, MCAST_V4, 255, message)]
    assert got[0].frame[14:] == datagram  # the pcap keeps the datagram as sent, AH header included
