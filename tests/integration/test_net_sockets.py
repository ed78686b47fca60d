"""VrrpSocket on the real kernel: two namespaces joined by a veth pair, tcpdump as witness."""

from __future__ import annotations

import dataclasses
import ipaddress
import select
import socket
import time

import pytest
from net_helpers import Tcpdump, in_netns, ip, namespaces, opened_in, veth

from vrrptui.net.sockets import MCAST_V4, MCAST_V6, Received, VrrpSocket
from vrrptui.protocol.packet import Advert, ChecksumForm, decode, encode

pytestmark = pytest.mark.netns

A4 = ipaddress.IPv4Address("192.0.2.1")
A4_SECOND = ipaddress.IPv4Address("192.0.2.11")
B4 = ipaddress.IPv4Address("192.0.2.2")
A6 = ipaddress.IPv6Address("fe80::a")
B6 = ipaddress.IPv6Address("fe80::b")


@pytest.fixture
def pair(netns_ok: None):
    """ns A (veth `va`) <-> ns B (veth `vb`), IPv4 /24 and fixed link-local IPv6 addresses."""
    with namespaces("sock-a", "sock-b") as (ns_a, ns_b):
        veth(ns_a, "va", ns_b, "vb")
        ip("-n", ns_a, "addr", "add", f"{A4}/24", "dev", "va")
        ip("-n", ns_a, "addr", "add", f"{A4_SECOND}/24", "dev", "va")
        ip("-n", ns_b, "addr", "add", f"{B4}/24", "dev", "vb")
        ip("-n", ns_a, "addr", "add", f"{A6}/64", "dev", "va", "nodad")
        ip("-n", ns_b, "addr", "add", f"{B6}/64", "dev", "vb", "nodad")
        yield ns_a, ns_b


def assert_same_advert(got: Received, advert: Advert) -> None:
    decoded = decode(got.payload, got.src, got.dst)
    assert isinstance(decoded, Advert), decoded
    assert decoded.checksum_form is ChecksumForm.PSEUDO
    assert dataclasses.replace(decoded, checksum=0) == advert


def receive_one(sock: VrrpSocket, timeout: float = 3.0) -> Received:
    ready, _, _ = select.select([sock], [], [], timeout)
    assert ready, f"nothing received on {sock}"
    got = sock.recv()
    assert got is not None
    return got


def exchange(pair, family: int, dst, src=None, advert_addresses=("192.0.2.100",)):
    """Send one v3 advert from A to `dst`; return what B's VrrpSocket got and tcpdump's text."""
    ns_a, ns_b = pair
    advert = Advert.from_fields(3, 51, 150, 0.1, advert_addresses)
    with in_netns(ns_b):
        receiver = VrrpSocket(family, "vb")
    try:
        with in_netns(ns_a):
            sender = VrrpSocket(family, "va")
        try:
            with Tcpdump(ns_b, "vb", "proto 112" if family == 4 else "ip6 proto 112") as witness:
                own_src = src or (A4 if family == 4 else A6)
                sender.send(encode(advert, own_src, dst), dst, src)
                got = receive_one(receiver)
                text = witness.stop()
        finally:
            sender.close()
        assert receiver.recv() is None  # exactly one packet, then EAGAIN
        return advert, got, text
    finally:
        receiver.close()


def test_ipv4_multicast_advert_arrives_with_ttl_255(pair):
    advert, got, text = exchange(pair, 4, MCAST_V4)
    assert (got.src, got.dst, got.ttl) == (A4, MCAST_V4, 255)
    assert_same_advert(got, advert)
    assert "tos 0xc0, ttl 255" in text and "proto VRRP (112)" in text
    assert (
        f"{A4} > {MCAST_V4}: VRRPv3, Advertisement, vrid 51, prio 150, intvl 10cs, length 12, addrs: 192.0.2.100"
        in text
    )
    assert "bad vrrp cksum" not in text


def test_ipv4_unicast_advert_arrives_with_ttl_255(pair):
    advert, got, text = exchange(pair, 4, B4)
    assert (got.src, got.dst, got.ttl) == (A4, B4, 255)
    assert_same_advert(got, advert)
    assert "tos 0xc0, ttl 255" in text and "proto VRRP (112)" in text
    assert f"{A4} > {B4}: VRRPv3, Advertisement, vrid 51" in text


def test_send_with_src_picks_the_source_address(pair):
    advert, got, text = exchange(pair, 4, B4, src=A4_SECOND)
    assert got.src == A4_SECOND
    assert_same_advert(got, advert)
    assert f"{A4_SECOND} > {B4}" in text


def test_ipv6_multicast_advert_arrives_with_hop_limit_255(pair):
    advert, got, text = exchange(pair, 6, MCAST_V6, advert_addresses=("fe80::100", "2001:db8::100"))
    assert (got.src, got.dst, got.ttl) == (A6, MCAST_V6, 255)
    assert_same_advert(got, advert)
    assert "class 0xc0" in text and "hlim 255" in text and "next-header VRRP (112)" in text
    assert f"{A6} > {MCAST_V6}: VRRPv3, Advertisement, vrid 51, prio 150, intvl 10cs" in text


def test_ipv6_send_with_src_picks_the_source_address(pair):
    ns_a, _ = pair
    second = ipaddress.IPv6Address("fe80::a2")
    ip("-n", ns_a, "addr", "add", f"{second}/64", "dev", "va", "nodad")
    _, got, _ = exchange(pair, 6, MCAST_V6, src=second, advert_addresses=("fe80::100",))
    assert got.src == second


def test_unicast_only_socket_does_not_receive_multicast(pair):
    ns_a, ns_b = pair
    with opened_in(ns_b, lambda: VrrpSocket(4, "vb", join_multicast=False)) as receiver, \
            opened_in(ns_a, lambda: VrrpSocket(4, "va")) as sender:
        advert = encode(Advert.from_fields(3, 51, 150, 0.1, ["192.0.2.100"]), A4, MCAST_V4)
        sender.send(advert, MCAST_V4)
        sender.send(advert, B4)
        got = receive_one(receiver)
        assert got.dst == B4
        assert receiver.recv() is None


def test_missing_interface_is_a_clear_error(pair):
    _, ns_b = pair
    with in_netns(ns_b), pytest.raises(OSError, match="'nope0' not found"):
        VrrpSocket(socket.AF_INET, "nope0")


def test_short_and_empty_payloads_are_delivered_not_raised(pair):
    ns_a, ns_b = pair
    with opened_in(ns_b, lambda: VrrpSocket(4, "vb")) as receiver, \
            opened_in(ns_a, lambda: VrrpSocket(4, "va")) as sender:
        for payload in (b"", b"\x31", b"\xff" * 3):
            sender.send(payload, B4)
            got = receive_one(receiver)
            assert (got.payload, got.src, got.ttl) == (payload, A4, 255)
        assert receiver.recv() is None
        assert receiver.malformed == 0


def test_a_burst_of_queued_adverts_is_drained_in_order_at_most_limit_per_call(pair):
    ns_a, ns_b = pair
    with opened_in(ns_b, lambda: VrrpSocket(4, "vb")) as receiver, \
            opened_in(ns_a, lambda: VrrpSocket(4, "va")) as sender:
        for priority in range(1, 41):
            sender.send(encode(Advert.from_fields(3, 51, priority, 0.1, ["192.0.2.100"]), A4, MCAST_V4), MCAST_V4)
        got: list[Received] = []
        while len(got) < 40 and select.select([receiver], [], [], 3.0)[0]:
            batch = receiver.drain(16)
            assert len(batch) <= 16
            got += batch
        priorities = [p.priority for r in got if isinstance(p := decode(r.payload, r.src, r.dst), Advert)]
        assert priorities == list(range(1, 41))
        assert receiver.drain(16) == [] and receiver.recv() is None


@pytest.mark.parametrize("family", [4, 6])
def test_age_is_how_long_ago_the_kernel_received_the_packet_not_when_it_was_read(pair, family):
    """The runtime dates a packet by its arrival (runtime._on_readable): read 0.3 s late, it is 0.3 s old."""
    ns_a, ns_b = pair
    dst = MCAST_V4 if family == 4 else MCAST_V6
    with in_netns(ns_b):
        receiver = VrrpSocket(family, "vb")
    with in_netns(ns_a):
        sender = VrrpSocket(family, "va")
    try:
        assert receiver.age() == 0.0  # nothing read yet
        src = A4 if family == 4 else A6
        advert = Advert.from_fields(3, 51, 0, 0.1, ["192.0.2.100" if family == 4 else "2001:db8::100"])
        # The kernel turns receive stamps on from a work queue (net_enable_timestamp) when the first
        # socket in the host asks, so a packet that arrives in the moments after may carry none; the
        # socket then answers "now" and age() says 0. A few tries let the stamps come on.
        for _ in range(5):
            sender.send(encode(advert, src, dst), dst, src)
            sent = time.time()
            time.sleep(0.3)
            got = receive_one(receiver)
            assert got.src == src
            arrived = time.time() - receiver.age()
            if arrived < sent + 0.2:
                break
        assert sent - 0.05 <= arrived <= sent + 0.05  # stamped on receipt, 0.3 s before it was read
    finally:
        sender.close()
        receiver.close()
