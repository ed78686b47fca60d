"""IPsec AH around VRRPv2, checked against datagrams keepalived 2.2.7 sent (auth_pass secret12)."""

from __future__ import annotations

import ipaddress

from vrrptui.protocol import ah
from vrrptui.protocol.packet import AUTH_AH, Advert, Drop, decode, encode

# keepalived 2.2.7, VRID 150, VIPs 192.168.1.13-14, 1 s: first advert of 192.168.1.11, its priority-0
# advert, and the first advert of 192.168.1.12 after it took over (its sequence continues from the 7 it heard)
KEEPALIVED = {
    ("192.168.1.11", 150, 1, 1): "45c0004400010000ff331900c0a8010be000001270040000c0a8010b0000000189578117a1206084"
                                 "2f0a6ce1219696020201c2f9c0a8010dc0a8010e0000000000000000",
    ("192.168.1.11", 0, 7, 7): "45c0004400070000ff3318fac0a8010be000001270040000c0a8010b000000071a84c07098a5f0a7"
                               "db5c723721960002020158fac0a8010dc0a8010e0000000000000000",
    ("192.168.1.12", 100, 1, 8): "45c0004400010000ff3318ffc0a8010ce000001270040000c0a8010c0000000832246263e5b3c874"
                                 "55151924219664020201f4f9c0a8010dc0a8010e0000000000000000",
}
KEY = ah.hmac_key("secret12")
GROUP = ipaddress.IPv4Address("224.0.0.18")


def message(priority: int) -> bytes:
    advert = Advert(2, 150, priority, 1.0, (ipaddress.IPv4Address("192.168.1.13"),
                                            ipaddress.IPv4Address("192.168.1.14")), AUTH_AH, bytes(8))
    return encode(advert)


def test_build_is_byte_identical_to_keepalived() -> None:
    for (src, priority, ip_id, sequence), wire in KEEPALIVED.items():
        built = ah.build(message(priority), ipaddress.IPv4Address(src), GROUP, ip_id=ip_id, sequence=sequence,
                         key=KEY, unicast=False)
        assert built.hex() == wire


def test_parse_and_verify_keepalived_datagrams() -> None:
    for (src, priority, _, sequence), wire in KEEPALIVED.items():
        packet = ah.parse(bytes.fromhex(wire))
        assert isinstance(packet, ah.AhPacket)
        assert (str(packet.src), packet.dst, packet.ttl, packet.sequence) == (src, GROUP, 255, sequence)
        assert ah.verify(packet, KEY, unicast=False) is None
        advert = decode(packet.message, packet.src, packet.dst)
        assert isinstance(advert, Advert) and (advert.priority, advert.auth_type) == (priority, AUTH_AH)


def test_wrong_password_and_tampering_fail_the_icv() -> None:
    wire = bytearray.fromhex(KEEPALIVED[("192.168.1.11", 150, 1, 1)])
    packet = ah.parse(bytes(wire))
    assert isinstance(packet, ah.AhPacket)
    assert ah.verify(packet, ah.hmac_key("secret13"), unicast=False) == (
        "IPSEC-AH : invalid IPSEC HMAC-MD5 value. Due to fields mutation or bad password !")
    wire[46] = 200  # the VRRP priority
    tampered = ah.parse(bytes(wire))
    assert isinstance(tampered, ah.AhPacket) and ah.verify(tampered, KEY, unicast=False) is not None


def test_mutable_fields_are_outside_the_icv() -> None:
    wire = bytearray.fromhex(KEEPALIVED[("192.168.1.11", 150, 1, 1)])
    wire[1] = 0x00  # TOS rewritten on the way
    wire[10:12] = b"\x12\x34"  # header checksum
    packet = ah.parse(bytes(wire))
    assert isinstance(packet, ah.AhPacket) and ah.verify(packet, KEY, unicast=False) is None
    wire[8] = 64  # TTL: covered for multicast, not for unicast
    packet = ah.parse(bytes(wire))
    assert isinstance(packet, ah.AhPacket) and ah.verify(packet, KEY, unicast=False) is not None


def test_unicast_zeroes_the_ttl_in_the_icv() -> None:
    src, peer = ipaddress.IPv4Address("192.168.1.11"), ipaddress.IPv4Address("192.168.1.12")
    built = ah.build(message(150), src, peer, ip_id=5, sequence=9, key=KEY, unicast=True)
    rewritten = bytearray(built)
    rewritten[8] = 63
    packet = ah.parse(bytes(rewritten))
    assert isinstance(packet, ah.AhPacket) and ah.verify(packet, KEY, unicast=True) is None


def test_spi_must_be_the_source_address() -> None:
    src = ipaddress.IPv4Address("192.168.1.11")
    built = bytearray(ah.build(message(150), src, GROUP, ip_id=1, sequence=1, key=KEY, unicast=False))
    built[12:16] = ipaddress.IPv4Address("192.168.1.99").packed  # another sender reusing the datagram
    packet = ah.parse(bytes(built))
    assert isinstance(packet, ah.AhPacket)
    assert ah.verify(packet, KEY, unicast=False) is not None  # the source is covered by the ICV


def test_parse_refuses_short_and_foreign_datagrams() -> None:
    wire = bytes.fromhex(KEEPALIVED[("192.168.1.11", 150, 1, 1)])
    assert isinstance(ah.parse(wire[:30]), Drop)
    other = bytearray(wire)
    other[20] = 6  # AH around TCP: not VRRP, ignored without a word (as keepalived)
    assert ah.parse(bytes(other)) is None
