"""The VRRP codec: exact bytes, every drop reason, checksum forms, the advert cache."""

from __future__ import annotations

import ipaddress
import struct
from dataclasses import replace

import pytest

from vrrptui.protocol.packet import (
    AUTH_NONE,
    MCAST_V4,
    MCAST_V6,
    Advert,
    AdvertCache,
    ChecksumForm,
    Drop,
    DropReason,
    decode,
    encode,
    internet_checksum,
    pseudo_header,
)

ip = ipaddress.ip_address
SRC4 = ip("192.168.1.11")
SRC6 = ip("fe80::1")


def v2_pass() -> Advert:
    return Advert.from_fields(2, 150, 101, 1, ["192.168.1.13"], auth_pass="1212")


def v3_v4() -> Advert:
    return Advert.from_fields(3, 150, 100, 0.1, ["192.168.1.13", "192.168.1.14"])


def v3_v6() -> Advert:
    return Advert.from_fields(3, 45, 191, 10, ["fe80::45", "2001:db8::45"])


def rechecksum(message: bytes, prefix: bytes = b"") -> bytes:
    """Set a valid checksum on a hand-mutated message."""
    zeroed = message[:6] + b"\0\0" + message[8:]
    return zeroed[:6] + internet_checksum(prefix + zeroed).to_bytes(2, "big") + zeroed[8:]


# --- exact bytes -----------------------------------------------------------------


def test_v2_pass_bytes_match_rfc3768_layout() -> None:
    # The advert tcpdump shows in VRRP-FACTS.md: vrid 150, prio 101, simple auth "1212", 1 s.
    assert encode(v2_pass()).hex() == "219665010101544dc0a8010d3132313200000000"


def test_v2_auth_pass_is_truncated_to_8_and_zero_padded() -> None:
    long = Advert.from_fields(2, 1, 100, 1, ["10.0.0.1"], auth_pass="0123456789")
    assert encode(long)[-8:] == b"01234567"
    short = Advert.from_fields(2, 1, 100, 1, ["10.0.0.1"], auth_pass="ab")
    assert encode(short)[-8:] == b"ab\0\0\0\0\0\0"
    none = Advert.from_fields(2, 1, 100, 1, ["10.0.0.1"])
    assert none.auth_type == AUTH_NONE and encode(none)[-8:] == bytes(8)


def test_v3_interval_is_12_bit_centiseconds() -> None:
    message = encode(replace(v3_v4(), max_advert_int=40.95), SRC4, MCAST_V4)
    assert message[4:6] == b"\x0f\xff"
    assert encode(v3_v4(), SRC4, MCAST_V4)[4:6] == b"\x00\x0a"


def test_v3_checksum_needs_src_and_dst() -> None:
    with pytest.raises(ValueError, match="pseudo-header"):
        encode(v3_v4())
    with pytest.raises(ValueError, match="pseudo-header"):
        encode(v3_v6(), SRC6)


def test_v3_ipv4_message_only_form_on_request() -> None:
    message = encode(v3_v4(), checksum_form=ChecksumForm.MESSAGE)
    assert internet_checksum(message) == 0
    advert = decode(message, SRC4, MCAST_V4)
    assert isinstance(advert, Advert) and advert.checksum_form is ChecksumForm.MESSAGE


@pytest.mark.parametrize(
    ("advert", "problem"),
    [
        (Advert.from_fields(2, 1, 100, 1, ["fe80::1"]), "IPv4 addresses only"),
        (Advert.from_fields(3, 1, 100, 1, ["10.0.0.1", "fe80::1"]), "mix"),
        (Advert.from_fields(2, 1, 100, 256, ["10.0.0.1"]), "0-255"),
        (Advert.from_fields(3, 1, 100, 41, ["10.0.0.1"]), "40.95"),
        (Advert.from_fields(4, 1, 100, 1, ["10.0.0.1"]), "version 4"),
    ],
)
def test_encode_rejects_what_the_wire_cannot_carry(advert: Advert, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        encode(advert, SRC4, MCAST_V4)


def test_pseudo_headers() -> None:
    assert pseudo_header(SRC4, MCAST_V4, 16).hex() == "c0a8010be0000012" + "00700010"
    assert pseudo_header(SRC6, MCAST_V6, 40)[32:].hex() == "00000028" + "00000070"


# --- decode: round trip and checksum forms ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("advert", "src", "dst", "form"),
    [
        (v2_pass(), SRC4, MCAST_V4, ChecksumForm.MESSAGE),
        (Advert.from_fields(2, 7, 255, 3, ["10.0.0.1", "10.0.0.2"]), None, None, ChecksumForm.MESSAGE),
        (v3_v4(), SRC4, MCAST_V4, ChecksumForm.PSEUDO),
        (v3_v6(), SRC6, MCAST_V6, ChecksumForm.PSEUDO),
    ],
)
def test_decode_returns_what_encode_built(advert: Advert, src, dst, form: ChecksumForm) -> None:
    message = encode(advert, src, dst)
    decoded = decode(message, src, dst, family=advert.family)
    assert decoded == replace(advert, checksum=int.from_bytes(message[6:8], "big"), checksum_form=form)


def test_v3_ipv4_pseudo_checksum_with_wrong_destination_is_dropped() -> None:
    message = encode(v3_v4(), SRC4, MCAST_V4)
    drop = decode(message, SRC4, ip("192.168.1.12"))
    assert drop == Drop(DropReason.CHECKSUM, drop.detail)


def test_v3_without_ip_addresses_only_verifies_message_form() -> None:
    assert isinstance(decode(encode(v3_v4(), checksum_form=ChecksumForm.MESSAGE)), Advert)
    drop = decode(encode(v3_v4(), SRC4, MCAST_V4))
    assert isinstance(drop, Drop) and drop.reason is DropReason.CHECKSUM and "needs src and dst" in drop.detail


def test_v3_ipv6_accepts_only_the_pseudo_header_form() -> None:
    message = encode(v3_v6(), SRC6, MCAST_V6)
    message_only = rechecksum(message)
    drop = decode(message_only, SRC6, MCAST_V6)
    assert isinstance(drop, Drop) and drop.reason is DropReason.CHECKSUM


def test_v2_checksum_covers_auth_data() -> None:
    message = bytearray(encode(v2_pass()))
    message[-1] ^= 0x01
    drop = decode(bytes(message), SRC4, MCAST_V4)
    assert isinstance(drop, Drop) and drop.reason is DropReason.CHECKSUM


def test_trailing_bytes_are_tolerated_and_not_checksummed() -> None:
    advert = decode(encode(v3_v4(), SRC4, MCAST_V4) + b"\xde\xad", SRC4, MCAST_V4)
    assert isinstance(advert, Advert) and advert.addresses == v3_v4().addresses
    advert = decode(encode(v2_pass()) + bytes(4))
    assert isinstance(advert, Advert) and advert.auth_pass == "1212"


def test_decode_accepts_memoryview_and_bytearray() -> None:
    message = encode(v2_pass())
    assert decode(memoryview(message)) == decode(bytearray(message)) == decode(message)


# --- decode: every drop reason ----------------------------------------------------------


def drop_reason(data: bytes, src=SRC4, dst=MCAST_V4, family: int = 4) -> DropReason | None:
    result = decode(data, src, dst, family)
    return result.reason if isinstance(result, Drop) else None


def test_short() -> None:
    assert drop_reason(b"") is DropReason.SHORT
    assert drop_reason(encode(v2_pass())[:7]) is DropReason.SHORT


def test_version() -> None:
    for version in (0, 1, 4, 15):
        message = bytearray(encode(v2_pass()))
        message[0] = (version << 4) | 1
        assert drop_reason(rechecksum(bytes(message))) is DropReason.VERSION


def test_v2_over_ipv6_is_a_version_drop() -> None:
    assert drop_reason(encode(v2_pass()), SRC6, MCAST_V6) is DropReason.VERSION
    assert drop_reason(encode(v2_pass()), None, None, family=6) is DropReason.VERSION


def test_carp_is_recognised_and_dropped_as_version() -> None:
    # CARP: 0x21, vhid 1, advskew 0, authlen 7, demote 0, advbase 1, cksum, 8-byte counter, 20-byte HMAC.
    carp = struct.pack("!BBBBBBH", 0x21, 1, 0, 7, 0, 1, 0) + bytes(8) + bytes(range(20))
    carp = rechecksum(carp)
    result = decode(carp, SRC4, MCAST_V4)
    assert isinstance(result, Drop) and result.reason is DropReason.VERSION and "CARP" in result.detail


def test_type() -> None:
    message = bytearray(encode(v2_pass()))
    message[0] = 0x22
    assert drop_reason(rechecksum(bytes(message))) is DropReason.TYPE


def test_count_zero() -> None:
    assert drop_reason(encode(Advert.from_fields(2, 1, 100, 1, []))) is DropReason.COUNT
    assert drop_reason(encode(Advert(3, 1, 100, 1.0, ()), SRC4, MCAST_V4)) is DropReason.COUNT


def test_length_mismatch() -> None:
    message = encode(v2_pass())
    assert drop_reason(message[:-1]) is DropReason.LENGTH  # auth trailer cut short
    bigger_count = bytearray(message)
    bigger_count[3] = 2
    assert drop_reason(rechecksum(bytes(bigger_count))) is DropReason.LENGTH
    v6 = encode(v3_v6(), SRC6, MCAST_V6)
    assert drop_reason(v6[:-16], SRC6, MCAST_V6) is DropReason.LENGTH


def test_interval_zero() -> None:
    assert drop_reason(encode(replace(v2_pass(), max_advert_int=0))) is DropReason.INTERVAL
    assert drop_reason(encode(replace(v3_v4(), max_advert_int=0), SRC4, MCAST_V4)) is DropReason.INTERVAL


def test_checks_run_in_header_order() -> None:
    # A bad type with a bad checksum is reported as the type: the first thing wrong.
    message = bytearray(encode(v2_pass()))
    message[0] = 0x23
    assert drop_reason(bytes(message)) is DropReason.TYPE


def test_v3_reserved_bits_are_ignored() -> None:
    message = bytearray(encode(v3_v4(), SRC4, MCAST_V4))
    message[4] |= 0xF0
    advert = decode(rechecksum(bytes(message), pseudo_header(SRC4, MCAST_V4, len(message))), SRC4, MCAST_V4)
    assert isinstance(advert, Advert) and advert.max_advert_int == 0.1


# --- the advert cache ---------------------------------------------------------------------------


def test_cache_returns_the_same_bytes_object_until_the_template_changes() -> None:
    cache = AdvertCache(v3_v4())
    first = cache.get(100, SRC4, MCAST_V4)
    assert first == encode(v3_v4(), SRC4, MCAST_V4)
    assert cache.get(100, SRC4, MCAST_V4) is first
    zero = cache.get(0, SRC4, MCAST_V4)
    assert decode(zero, SRC4, MCAST_V4).priority == 0  # type: ignore[union-attr]
    assert cache.get(100, SRC4, MCAST_V4) is first  # flapping back is free
    unicast = cache.get(100, SRC4, ip("192.168.1.12"))
    assert isinstance(decode(unicast, SRC4, ip("192.168.1.12")), Advert)
    cache.template = replace(v3_v4(), max_advert_int=1.0)
    changed = cache.get(100, SRC4, MCAST_V4)
    assert changed != first and decode(changed, SRC4, MCAST_V4).max_advert_int == 1.0  # type: ignore[union-attr]


def test_cache_keeps_entries_when_an_equal_template_is_set() -> None:
    cache = AdvertCache(v2_pass())
    first = cache.get(101)
    cache.template = v2_pass()
    assert cache.get(101) is first


def test_cache_message_only_form() -> None:
    cache = AdvertCache(v3_v4(), ChecksumForm.MESSAGE)
    assert internet_checksum(cache.get(100)) == 0


def test_cache_shares_v2_bytes_across_destinations() -> None:
    # v2 checksums cover the message only, so unicast peers share one build.
    cache = AdvertCache(v2_pass())
    assert cache.get(101, SRC4, MCAST_V4) is cache.get(101, SRC4, ip("192.168.1.12"))
