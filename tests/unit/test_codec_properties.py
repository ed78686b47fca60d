"""Property tests: encode/decode round trip; decode never raises on random or mutated bytes."""

from __future__ import annotations

import ipaddress
from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st

from vrrptui.protocol.packet import (
    AUTH_NONE,
    AUTH_PASS,
    Advert,
    ChecksumForm,
    Drop,
    DropReason,
    decode,
    encode,
    pad_auth,
)

FAST = settings(max_examples=200, deadline=None)

ipv4 = st.integers(0, 2**32 - 1).map(ipaddress.IPv4Address)
ipv6 = st.integers(0, 2**128 - 1).map(ipaddress.IPv6Address)
vrid = st.integers(1, 255)
priority = st.integers(0, 255)


@st.composite
def v2_adverts(draw: st.DrawFn) -> Advert:
    auth_type = draw(st.sampled_from([AUTH_NONE, AUTH_PASS]))
    password = draw(st.binary(max_size=8)) if auth_type == AUTH_PASS else b""
    return Advert(
        2,
        draw(vrid),
        draw(priority),
        float(draw(st.integers(1, 255))),
        tuple(draw(st.lists(ipv4, min_size=1, max_size=20))),
        auth_type,
        pad_auth(password),
        checksum_form=ChecksumForm.MESSAGE,
    )


@st.composite
def v3_adverts(draw: st.DrawFn, family: int) -> Advert:
    addresses = st.lists(ipv4 if family == 4 else ipv6, min_size=1, max_size=20)
    return Advert(3, draw(vrid), draw(priority), draw(st.integers(1, 4095)) / 100, tuple(draw(addresses)))


@st.composite
def packets(
    draw: st.DrawFn,
) -> tuple[bytes, ipaddress.IPv4Address | ipaddress.IPv6Address, ipaddress.IPv4Address | ipaddress.IPv6Address]:
    """A valid advert on the wire with the IP addresses it travelled between."""
    family = draw(st.sampled_from([4, 6]))
    if family == 4 and draw(st.booleans()):
        advert = draw(v2_adverts())
    else:
        advert = draw(v3_adverts(family))
    src, dst = (draw(ipv4), draw(ipv4)) if family == 4 else (draw(ipv6), draw(ipv6))
    return encode(advert, src, dst), src, dst


@FAST
@given(v2_adverts())
def test_v2_round_trip(advert: Advert) -> None:
    message = encode(advert)
    assert decode(message) == replace(advert, checksum=int.from_bytes(message[6:8], "big"))


@FAST
@given(st.sampled_from([4, 6]).flatmap(lambda family: st.tuples(v3_adverts(family), st.just(family))), st.data())
def test_v3_round_trip(case: tuple[Advert, int], data: st.DataObject) -> None:
    advert, family = case
    address = ipv4 if family == 4 else ipv6
    src, dst = data.draw(address), data.draw(address)
    message = encode(advert, src, dst)
    decoded = decode(message, src, dst)
    assert decoded == replace(advert, checksum=int.from_bytes(message[6:8], "big"), checksum_form=ChecksumForm.PSEUDO)


@FAST
@given(v3_adverts(4))
def test_v3_ipv4_message_only_round_trip(advert: Advert) -> None:
    message = encode(advert, checksum_form=ChecksumForm.MESSAGE)
    decoded = decode(message, ipaddress.IPv4Address("10.0.0.1"), ipaddress.IPv4Address("224.0.0.18"))
    assert decoded == replace(advert, checksum=int.from_bytes(message[6:8], "big"), checksum_form=ChecksumForm.MESSAGE)


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=600), st.sampled_from([4, 6]), st.booleans())
def test_random_bytes_never_raise(data: bytes, family: int, with_ips: bool) -> None:
    src, dst = (None, None)
    if with_ips:
        src, dst = (
            (ipaddress.IPv4Address("10.0.0.1"), ipaddress.IPv4Address("224.0.0.18"))
            if family == 4
            else (ipaddress.IPv6Address("fe80::1"), ipaddress.IPv6Address("ff02::12"))
        )
    assert isinstance(decode(data, src, dst, family), Advert | Drop)


@settings(max_examples=400, deadline=None)
@given(packets(), st.data())
def test_mutated_packets_never_raise_and_damage_is_dropped(packet: tuple, data: st.DataObject) -> None:
    message, src, dst = packet
    mutated = bytearray(message)
    mutation = data.draw(st.sampled_from(["flip", "truncate", "extend", "set"]))
    if mutation == "flip":
        index = data.draw(st.integers(0, len(mutated) - 1))
        mutated[index] ^= data.draw(st.integers(1, 255))
    elif mutation == "truncate":
        del mutated[data.draw(st.integers(0, len(mutated) - 1)) :]
    elif mutation == "extend":
        mutated += data.draw(st.binary(min_size=1, max_size=64))
    else:
        index = data.draw(st.integers(0, min(7, len(mutated) - 1)))
        mutated[index] = data.draw(st.integers(0, 255))
    result = decode(bytes(mutated), src, dst)
    assert isinstance(result, Advert | Drop)
    if mutation == "flip":
        assert isinstance(result, Drop)  # every byte is covered by the checksum or checked before it
    if mutation == "truncate":
        assert isinstance(result, Drop)
        # a v2 advert with count 7 cut to 36 bytes is byte-for-byte shaped like CARP
        assert result.reason in (DropReason.SHORT, DropReason.LENGTH) or "CARP" in result.detail


@st.composite
def frames(draw: st.DrawFn) -> bytes:
    """An Ethernet frame (802.1Q tag or not) carrying a VRRP advert over IPv4, IPv4 AH or IPv6, then damaged."""
    message, src, dst = draw(packets())
    ether = bytes(6) + bytes(range(1, 7))
    if draw(st.booleans()):
        ether += b"\x81\x00\x00\x05"
    if src.version == 6:
        ip = b"\x60\x00\x00\x00" + len(message).to_bytes(2, "big") + bytes([112, 255]) + src.packed + dst.packed
        frame = ether + b"\x86\xdd" + ip + message
    else:
        with_ah = draw(st.booleans())
        ah_header = bytes([112, 4, 0, 0]) + src.packed + bytes(16) if with_ah else b""
        total = 20 + len(ah_header) + len(message)
        ip = (b"\x45\xc0" + total.to_bytes(2, "big") + bytes(4) + bytes([255, 51 if with_ah else 112]) + bytes(2)
              + src.packed + dst.packed)
        frame = ether + b"\x08\x00" + ip + ah_header + message
    damaged = bytearray(frame)
    for _ in range(draw(st.integers(0, 3))):
        where = draw(st.integers(0, len(damaged) - 1))
        action = draw(st.sampled_from(["set", "cut", "extend"]))
        if action == "set":
            damaged[where] = draw(st.integers(0, 255))
        elif action == "cut":
            del damaged[where:]
            if not damaged:
                break
        else:
            damaged[where:where] = draw(st.binary(min_size=1, max_size=8))
    return bytes(damaged)


@settings(max_examples=400, deadline=None)
@given(st.one_of(frames(), st.binary(max_size=200)))
def test_a_sniffed_frame_never_raises_from_the_frame_to_the_decoded_advert(frame: bytes) -> None:
    """The console's sniffer reads every frame the segment carries: parse_frame, then the codec."""
    from vrrptui.net.sniffer import parse_frame

    captured = parse_frame(frame, 1.0)
    if captured is not None:
        assert isinstance(decode(captured.payload, captured.src, captured.dst, captured.family), Advert | Drop)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from([b"\x08\x06", b"\x86\xdd"]), st.binary(max_size=120), st.data())
def test_an_arp_or_neighbour_advert_from_the_segment_never_raises(ethertype: bytes, rest: bytes,
                                                                  data: st.DataObject) -> None:
    """The console's VIP prober reads every ARP and NA on the segment: whatever it holds, a claim or None."""
    from vrrptui.net.prober import parse_arp, parse_na

    frame = bytes(12) + ethertype + rest
    if ethertype == b"\x86\xdd" and len(frame) > 54 and data.draw(st.booleans()):
        frame = frame[:20] + bytes([58]) + frame[21:54] + bytes([136]) + frame[55:]  # ICMPv6 NA, options fuzzed
    for claim in (parse_arp(frame, bytes(range(6))), parse_na(frame)):
        assert claim is None or (isinstance(claim, tuple) and len(claim) == 3)
