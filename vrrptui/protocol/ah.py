"""IPsec AH (RFC 2402) around VRRPv2 adverts, as keepalived's `auth_type AH` speaks it.

A datagram is an IPv4 header (IP protocol 51, built here: the sender needs IP_HDRINCL),
a 24-byte AH header, then the VRRPv2 message (auth type 2, zero auth data):

    IPv4 header   TOS 0xc0, TTL 255, ID per advert, no options
    AH header     next header 112, payload length 4, reserved 0,
                  SPI = the source address, sequence number, ICV (12 bytes)
    VRRP message  as vrrptui.protocol.packet encodes it

The ICV is HMAC-MD5-96 keyed with auth_pass zero padded to 8 bytes, over the IPv4
header with TOS, fragment offset and checksum zeroed (and TTL too when unicast, as
keepalived does), the AH header with a zero ICV, and the VRRP message. Sans-I/O:
`build` and `parse`/`verify` only; the per-instance counters live in the engine.
"""

from __future__ import annotations

import ipaddress
import struct
from dataclasses import dataclass

from vrrptui.protocol.packet import VRRP_PROTO, VRRP_TTL, Drop, DropReason, internet_checksum

AH_PROTO = 51
AH_LEN = 24
AH_PAYLOAD_LEN = AH_LEN // 4 - 2  # RFC 2402 2.2: in 32-bit words, minus 2
ICV_LEN = 12  # HMAC-MD5-96
KEY_LEN = 8  # keepalived keys the HMAC with its 8-byte auth_data
IPV4 = struct.Struct("!BBHHHBBH4s4s")
AH = struct.Struct("!BBH4sI")  # next header, payload length, reserved, SPI, sequence number (then the ICV)
VRRP_TOS = 0xC0
MAX_SEQUENCE = 0xFFFFFFFD  # keepalived stops counting here ("cycled")


def hmac_key(auth_pass: str) -> bytes:
    return auth_pass.encode("latin-1")[:KEY_LEN].ljust(KEY_LEN, b"\0")


def _icv(key: bytes, header: bytes, ah: bytes, message: bytes, unicast: bool) -> bytes:
    signed = bytearray(header)
    signed[1] = 0  # TOS
    signed[6:8] = b"\0\0"  # flags + fragment offset
    signed[10:12] = b"\0\0"  # header checksum
    if unicast:
        signed[8] = 0  # TTL: keepalived zeroes it for unicast peers only
    zero_icv = ah[: AH_LEN - ICV_LEN] + bytes(ICV_LEN)
    import hashlib  # only auth_type AH pays for OpenSSL's libcrypto (~3.6 MB of RSS)
    import hmac

    return hmac.new(key, bytes(signed) + zero_icv + message, hashlib.md5).digest()[:ICV_LEN]


def build(message: bytes, src: ipaddress.IPv4Address, dst: ipaddress.IPv4Address, *, ip_id: int, sequence: int,
          key: bytes, unicast: bool, ttl: int = VRRP_TTL) -> bytes:
    """The whole IPv4 datagram for one VRRPv2 `message`, byte for byte what keepalived sends."""
    header = bytearray(IPV4.pack(0x45, VRRP_TOS, IPV4.size + AH_LEN + len(message), ip_id, 0, ttl, AH_PROTO, 0,
                                 src.packed, dst.packed))
    header[10:12] = internet_checksum(bytes(header)).to_bytes(2, "big")  # the kernel fills it in as well
    ah = AH.pack(VRRP_PROTO, AH_PAYLOAD_LEN, 0, src.packed, sequence) + bytes(ICV_LEN)
    icv = _icv(key, bytes(header), ah, message, unicast)
    return bytes(header) + ah[: AH_LEN - ICV_LEN] + icv + message


@dataclass(frozen=True, slots=True)
class AhPacket:
    """A received protocol-51 datagram carrying VRRP: the fields checks need, and the VRRP message."""

    src: ipaddress.IPv4Address
    dst: ipaddress.IPv4Address
    ttl: int
    spi: bytes
    sequence: int
    message: bytes  # the VRRP message after the AH header
    header: bytes  # the IPv4 header as received (the ICV covers it)
    ah: bytes  # the AH header as received


def parse(datagram: bytes) -> AhPacket | Drop | None:
    """Split a protocol-51 datagram (IPv4 header included). None: AH for another protocol, not ours to judge."""
    if len(datagram) < IPV4.size or datagram[0] >> 4 != 4:
        return Drop(DropReason.SHORT, f"{len(datagram)} bytes, not an IPv4 datagram")
    ihl = (datagram[0] & 0x0F) * 4
    total = int.from_bytes(datagram[2:4], "big")
    if ihl < IPV4.size or total > len(datagram) or total < ihl + AH_LEN:
        return Drop(DropReason.SHORT, f"IPv4 VRRP packet with AH too short - {len(datagram)} bytes")
    if datagram[9] != AH_PROTO:
        return Drop(DropReason.VERSION, f"IP protocol {datagram[9]}, not AH (51)")
    next_header, payload_len, _, spi, sequence = AH.unpack_from(datagram, ihl)
    if next_header != VRRP_PROTO:
        return None  # keepalived: "an AH header for some other protocol - ignore packet"
    if payload_len != AH_PAYLOAD_LEN:
        return Drop(DropReason.LENGTH, f"AH payload length {payload_len}, HMAC-MD5-96 needs {AH_PAYLOAD_LEN}")
    return AhPacket(
        src=ipaddress.IPv4Address(datagram[12:16]),
        dst=ipaddress.IPv4Address(datagram[16:20]),
        ttl=datagram[8],
        spi=spi,
        sequence=sequence,
        message=bytes(datagram[ihl + AH_LEN : total]),
        header=bytes(datagram[:ihl]),
        ah=bytes(datagram[ihl : ihl + AH_LEN]),
    )


def verify(packet: AhPacket, key: bytes, unicast: bool) -> str | None:
    """keepalived's check before the sequence number: the ICV, then the SPI. None when both hold."""
    expected = _icv(key, packet.header, packet.ah, packet.message, unicast)
    import hmac

    if not hmac.compare_digest(expected, packet.ah[AH_LEN - ICV_LEN :]):
        return "IPSEC-AH : invalid IPSEC HMAC-MD5 value. Due to fields mutation or bad password !"
    if packet.spi != packet.src.packed:
        # keepalived prints both as host-order integers of the network-order bytes
        return (f"IPSEC AH : invalid IPSEC SPI value. {int.from_bytes(packet.src.packed, 'little')} and expect "
                f"{int.from_bytes(packet.spi, 'little')}")
    return None
