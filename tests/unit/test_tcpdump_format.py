"""The formatter on fixed inputs: the samples in VRRP-FACTS.md and tcpdump's address style.

(The line-by-line comparison with a real tcpdump is in test_tcpdump_real.py.)
"""

from __future__ import annotations

import ipaddress
import time

import pytest

from vrrptui.protocol.packet import MCAST_V4, MCAST_V6, Advert, ChecksumForm, decode, encode
from vrrptui.protocol.tcpdump import format_advert, format_compact, format_packet, tcpdump_address

ip = ipaddress.ip_address


def decoded(advert: Advert, src, dst, form: ChecksumForm = ChecksumForm.PSEUDO) -> Advert:
    result = decode(encode(advert, src, dst, form), src, dst)
    assert isinstance(result, Advert)
    return result


def test_v2_pass_sample_from_the_facts_sheet() -> None:
    src, dst = ip("192.168.1.11"), ip("192.168.1.12")
    advert = decoded(Advert.from_fields(2, 150, 101, 1, ["192.168.1.13"], auth_pass="1212"), src, dst)
    lines = format_advert(advert, src, dst, ip_id=3)
    assert lines == [
        "IP (tos 0xc0, ttl 255, id 3, offset 0, flags [none], proto VRRP (112), length 40)",
        '    192.168.1.11 > 192.168.1.12: VRRPv2, Advertisement, vrid 150, prio 101, authtype simple, intvl 1s, length 20, addrs: 192.168.1.13 auth "1212"',
    ]


def test_compact_v3_sample_with_local_time() -> None:
    src, dst = ip("192.168.1.12"), ip("192.168.1.11")
    advert = decoded(Advert.from_fields(3, 150, 100, 0.1, ["192.168.1.13"]), src, dst)
    ts = time.mktime((2026, 11, 23, 8, 55, 47, 0, 0, -1)) + 0.663674
    assert format_compact(advert, src, dst, ts=ts) == (
        "08:55:47.663674 IP 192.168.1.12 > 192.168.1.11: VRRPv3, Advertisement, vrid 150, prio 100, intvl 10cs, length 12"
    )


def test_compact_v3_ipv6_sample() -> None:
    src = ip("fe80::1")
    advert = decoded(Advert.from_fields(3, 45, 191, 10, ["fe80::45", "2001:db8::45"]), src, MCAST_V6)
    assert format_compact(advert, src, MCAST_V6) == (
        "IP6 fe80::1 > ff02::12: VRRPv3, Advertisement, vrid 45, prio 191, intvl 1000cs, length 40"
    )


def test_epoch_timestamps_round_to_microseconds() -> None:
    src = ip("10.0.0.2")
    advert = decoded(Advert.from_fields(2, 1, 100, 1, ["10.0.0.1"]), src, MCAST_V4)
    assert format_compact(advert, src, MCAST_V4, ts=1.9999996, ts_style="epoch").startswith("2.000000 IP ")


def test_message_only_v3_ipv4_reads_as_a_bad_checksum_like_tcpdump() -> None:
    # tcpdump verifies v3/IPv4 with the pseudo-header only; we accept both forms but print as it does.
    src = ip("10.0.0.2")
    advert = decoded(Advert.from_fields(3, 1, 100, 1, ["10.0.0.1"]), src, MCAST_V4, ChecksumForm.MESSAGE)
    assert advert.checksum_form is ChecksumForm.MESSAGE
    assert f"(bad vrrp cksum {advert.checksum:x})" in format_advert(advert, src, MCAST_V4)[1]
    assert "bad vrrp cksum" not in format_advert(advert, src, MCAST_V4, checksum_ok=True)[1]


def test_ttl_annotation_uses_the_word_ttl_for_ipv6_too() -> None:
    src = ip("fe80::1")
    advert = decoded(Advert.from_fields(3, 45, 191, 1, ["fe80::45"]), src, MCAST_V6)
    assert ", (ttl 64), vrid 45" in format_advert(advert, src, MCAST_V6, ttl=64)[0]


@pytest.mark.parametrize(
    ("address", "text"),
    [
        ("::ffff:10.0.0.1", "::ffff:10.0.0.1"),  # IPv4-mapped: dotted, like inet_ntop
        ("::10.0.0.1", "::10.0.0.1"),  # IPv4-compatible
        ("::1", "::1"),
        ("::", "::"),
        ("::ffff:0:1.2.3.4", "::ffff:0:102:304"),
        ("64:ff9b::1.2.3.4", "64:ff9b::102:304"),
        ("2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"),  # a single zero group is not compressed
        ("1:0:0:1:0:0:0:1", "1:0:0:1::1"),
        ("192.0.2.1", "192.0.2.1"),
    ],
)
def test_tcpdump_address(address: str, text: str) -> None:
    assert tcpdump_address(ip(address)) == text


def test_format_packet_never_raises_on_short_garbage() -> None:
    src = ip("10.0.0.2")
    for length in range(0, 30):
        for fill in (0x00, 0x21, 0x31, 0xFF):
            lines = format_packet(bytes([fill]) * length, src, MCAST_V4)
            assert len(lines) == 2
