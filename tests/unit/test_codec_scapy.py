"""The codec cross-checked against scapy's VRRP / VRRPv3 layers, both directions, checksums included.

Scapy builds full IP packets, so its v3 checksums include the IPv4 / IPv6 pseudo-header.
"""

from __future__ import annotations

import ipaddress
from dataclasses import replace

import pytest
from scapy.layers.inet import IP
from scapy.layers.inet6 import IPv6
from scapy.layers.vrrp import VRRP, VRRPv3
from scapy.packet import Packet, Raw, raw

from vrrptui.protocol.packet import AUTH_NONE, AUTH_PASS, Advert, ChecksumForm, decode, encode

ip = ipaddress.ip_address

# (name, src, dst, advert) covering v2 auth none / PASS, v3 over IPv4 and IPv6, one and several addresses.
CASES = [
    ("v2-none", "192.168.1.11", "224.0.0.18", Advert.from_fields(2, 51, 100, 1, ["192.168.1.13"])),
    ("v2-pass", "192.168.1.11", "224.0.0.18", Advert.from_fields(2, 150, 101, 1, ["192.168.1.13"], auth_pass="1212")),
    ("v2-pass-8", "10.0.0.2", "10.0.0.3", Advert.from_fields(2, 255, 1, 255, ["10.0.0.9", "10.0.0.10"],
                                                             auth_pass="12345678")),
    ("v3-v4", "192.168.1.12", "224.0.0.18", Advert.from_fields(3, 150, 100, 0.1, ["192.168.1.13"])),
    ("v3-v4-multi", "10.1.1.1", "224.0.0.18", Advert.from_fields(3, 7, 254, 40.95, [f"10.1.2.{i}" for i in range(1,
                                                                                                                 9)])),
    ("v3-v6", "fe80::1", "ff02::12", Advert.from_fields(3, 45, 191, 10, ["fe80::45"])),
    ("v3-v6-multi", "fe80::2", "ff02::12", Advert.from_fields(3, 200, 255, 0.05, ["fe80::c8", "2001:db8::1",
                                                                                  "2001:db8::2"])),
]
IDS = [case[0] for case in CASES]


def scapy_layer(advert: Advert) -> Packet:
    """The same advert built field by field with scapy (checksum left for scapy to compute)."""
    addrs = [str(a) for a in advert.addresses]
    if advert.version == 2:
        return VRRP(
            vrid=advert.vrid,
            priority=advert.priority,
            authtype=advert.auth_type,
            adv=int(advert.max_advert_int),
            addrlist=addrs,
            auth1=int.from_bytes(advert.auth_data[:4], "big"),
            auth2=int.from_bytes(advert.auth_data[4:8], "big"),
        )
    return VRRPv3(vrid=advert.vrid, priority=advert.priority, adv=round(advert.max_advert_int * 100), addrlist=addrs)


def ip_layer(src: str, dst: str) -> Packet:
    return IPv6(src=src, dst=dst, hlim=255) if ":" in src else IP(src=src, dst=dst, ttl=255)


def vrrp_of(packet: Packet) -> Packet:
    return packet[VRRPv3] if packet.haslayer(VRRPv3) else packet[VRRP]


@pytest.mark.parametrize(("name", "src", "dst", "advert"), CASES, ids=IDS)
def test_scapy_built_packets_decode_identically(name: str, src: str, dst: str, advert: Advert) -> None:
    packet = ip_layer(src, dst) / scapy_layer(advert)
    wire = raw(packet)
    dissected = packet.__class__(wire)  # dissect again: fields as they travel
    theirs = vrrp_of(dissected)
    ours = decode(raw(theirs), ip(src), ip(dst))
    assert isinstance(ours, Advert), ours
    assert ours.version == theirs.version == advert.version
    assert ours.type == theirs.type == 1
    assert ours.vrid == theirs.vrid
    assert ours.priority == theirs.priority
    assert len(ours.addresses) == theirs.ipcount
    assert [str(a) for a in ours.addresses] == list(theirs.addrlist)
    assert ours.checksum == theirs.chksum
    if advert.version == 2:
        assert ours.max_advert_int == theirs.adv
        assert ours.auth_type == theirs.authtype
        assert ours.auth_data == theirs.auth1.to_bytes(4, "big") + theirs.auth2.to_bytes(4, "big")
        assert ours.checksum_form is ChecksumForm.MESSAGE
    else:
        assert round(ours.max_advert_int * 100) == theirs.adv
        assert ours.checksum_form is ChecksumForm.PSEUDO  # scapy, like keepalived, uses the pseudo-header
    assert ours == replace(advert, checksum=theirs.chksum, checksum_form=ours.checksum_form)


@pytest.mark.parametrize(("name", "src", "dst", "advert"), CASES, ids=IDS)
def test_our_packets_decode_identically_in_scapy(name: str, src: str, dst: str, advert: Advert) -> None:
    ours = encode(advert, ip(src), ip(dst))
    header = ip_layer(src, dst)
    if isinstance(header, IP):
        header.proto = 112
    else:
        header.nh = 112
    dissected = header.__class__(raw(header / Raw(ours)))
    theirs = vrrp_of(dissected)
    assert isinstance(theirs, VRRPv3 if advert.version == 3 else VRRP)
    assert theirs.version == advert.version
    assert theirs.vrid == advert.vrid
    assert theirs.priority == advert.priority
    assert theirs.ipcount == len(advert.addresses)
    assert list(theirs.addrlist) == [str(a) for a in advert.addresses]
    if advert.version == 2:
        assert theirs.adv == advert.max_advert_int
        assert theirs.authtype == (AUTH_PASS if advert.auth_pass else AUTH_NONE)
        assert theirs.auth1.to_bytes(4, "big") + theirs.auth2.to_bytes(4, "big") == advert.auth_data
    else:
        assert theirs.adv == round(advert.max_advert_int * 100)
    # scapy recomputes the checksum from the dissected fields and its IP underlayer
    theirs.chksum = None
    recomputed = vrrp_of(dissected.__class__(raw(dissected))).chksum
    assert recomputed == int.from_bytes(ours[6:8], "big")
    assert raw(dissected)[-len(ours):] == ours


def test_scapy_checksum_over_ipv4_differs_from_message_only_form() -> None:
    # Guards the cross-check: the two v3/IPv4 forms really differ, and we decode both.
    advert = Advert.from_fields(3, 150, 100, 0.1, ["192.168.1.13"])
    scapy_wire = raw(vrrp_of(IP(raw(ip_layer("192.168.1.12", "224.0.0.18") / scapy_layer(advert)))))
    message_only = encode(advert, checksum_form=ChecksumForm.MESSAGE)
    assert scapy_wire[6:8] != message_only[6:8]
    assert decode(message_only, ip("192.168.1.12"), ip("224.0.0.18")).checksum_form is ChecksumForm.MESSAGE  # type: ignore[union-attr]
    assert decode(scapy_wire, ip("192.168.1.12"), ip("224.0.0.18")).checksum_form is ChecksumForm.PSEUDO  # type: ignore[union-attr]

