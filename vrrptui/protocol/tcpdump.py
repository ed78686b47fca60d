"""Adverts rendered exactly as `tcpdump -n -v` / `-vv` prints them (tcpdump 4.99), and the
one-line `tcpdump -n` form. This is the console's advert log, so operators read the
same text they know from a capture. Pinned line by line against real tcpdump in
tests/unit/test_tcpdump_real.py.

Entry points, all on one byte-level printer that follows tcpdump's field order:
- `format_advert()` for an `Advert` from `decode()` (the usual case);
- `format_compact()` for the one-line `tcpdump -n` form;
- `format_packet()` for raw VRRP bytes, including ones `decode()` drops: like tcpdump
  it prints what it can (unknown version or type, truncation, bad checksum).

Not rendered (adverts never carry them): IPv4 options and a bad IP header checksum.
"""

from __future__ import annotations

import ipaddress
import time
from typing import Literal

from .packet import (
    AUTH_DATA_LEN,
    HEADER_LEN,
    Advert,
    ChecksumForm,
    IPAddress,
    encode,
    internet_checksum,
    pseudo_header,
)
from .pcap import split_timestamp

TimestampStyle = Literal["local", "epoch"]  # tcpdump's default / `-tt`

_TYPE_NAMES = {1: "Advertisement"}
_AUTH_NAMES = {0: "none", 1: "simple", 2: "ah"}
_ECN_NAMES = {1: ",ECT(1)", 2: ",ECT(0)", 3: ",CE"}
# IPv4 flag bits (RFC 791) in the order tcpdump lists them.
_IP_FLAG_NAMES = ((0x1, "+"), (0x2, "DF"), (0x4, "rsvd"))


def format_advert(
    advert: Advert,
    src: IPAddress,
    dst: IPAddress,
    *,
    ts: float | None = None,
    ts_style: TimestampStyle = "local",
    ttl: int = 255,
    tos: int = 0xC0,
    ip_id: int = 0,
    ip_flags: int = 0,
    frag_offset: int = 0,
    flowlabel: int = 0,
    length: int | None = None,
    checksum_ok: bool | None = None,
    verbose: bool = True,
) -> list[str]:
    """The line(s) tcpdump prints for `advert` sent from `src` to `dst`.

    verbose (`-v`/`-vv`, identical for VRRP): IPv4 gives two lines (IP header, then the
    indented VRRP line), IPv6 one. Not verbose (`tcpdump -n`): one line, no addresses.
    `ts` None prints no timestamp (`-t`). `ttl` is the TTL or hop limit, `tos` the TOS or
    traffic class; `ip_id`, `ip_flags` (3 bits: 1 MF, 2 DF, 4 reserved) and `frag_offset`
    (bytes) are IPv4 only, `flowlabel` IPv6 only. `length` is the IP payload length
    (default: the message's own length). `checksum_ok` None means what tcpdump concludes
    for a decoded advert: it checks v3 over IPv4 with the pseudo-header only, so the
    message-only form shows as a bad checksum.
    """
    form = ChecksumForm.MESSAGE if advert.family == 4 else ChecksumForm.PSEUDO
    message = bytearray(encode(advert, src, dst, form))
    message[6:8] = advert.checksum.to_bytes(2, "big")  # the checksum as received
    if checksum_ok is None:
        checksum_ok = not (advert.version == 3 and advert.family == 4 and advert.checksum_form is ChecksumForm.MESSAGE)
    length = len(message) if length is None else length
    body = _vrrp_text(bytes(message), length, src, dst, ttl, verbose, checksum_ok)
    return _with_ip(body, src, dst, ts, ts_style, ttl, tos, ip_id, ip_flags, frag_offset, flowlabel, length, verbose)


def format_compact(
    advert: Advert,
    src: IPAddress,
    dst: IPAddress,
    *,
    ts: float | None = None,
    ts_style: TimestampStyle = "local",
    ttl: int = 255,
) -> str:
    """The single line `tcpdump -n` prints (no IP header details, no addresses)."""
    return format_advert(advert, src, dst, ts=ts, ts_style=ts_style, ttl=ttl, verbose=False)[0]


def format_packet(
    message: bytes,
    src: IPAddress,
    dst: IPAddress,
    *,
    ts: float | None = None,
    ts_style: TimestampStyle = "local",
    ttl: int = 255,
    tos: int = 0xC0,
    ip_id: int = 0,
    ip_flags: int = 0,
    frag_offset: int = 0,
    flowlabel: int = 0,
    verbose: bool = True,
) -> list[str]:
    """What tcpdump prints for the IP payload `message` (any bytes, valid or not).

    Mirrors tcpdump's printer: the length is `len(message)`, the checksum is verified
    over all of it (v3 with the pseudo-header, for IPv4 too), and where bytes run out
    the line ends with ` [|vrrp]`.
    """
    message = bytes(message)
    body = _vrrp_text(message, len(message), src, dst, ttl, verbose, None)
    return _with_ip(body, src, dst, ts, ts_style, ttl, tos, ip_id, ip_flags, frag_offset, flowlabel,
                    len(message), verbose)


def tcpdump_address(address: IPAddress) -> str:
    """An address as tcpdump -n writes it: like inet_ntop, which keeps IPv4-mapped and
    IPv4-compatible IPv6 addresses in dotted form (`::ffff:10.0.0.1`, `::10.0.0.1`)."""
    if address.version == 4:
        return str(address)
    words = [int.from_bytes(address.packed[i : i + 2], "big") for i in range(0, 16, 2)]
    leading_zeros = next((i for i, word in enumerate(words) if word), 8)
    longest_run = _longest_zero_run(words)
    if longest_run == leading_zeros == 6 or (longest_run == leading_zeros == 5 and words[5] == 0xFFFF):
        dotted = str(ipaddress.IPv4Address(address.packed[12:]))
        return "::ffff:" + dotted if leading_zeros == 5 else "::" + dotted
    return str(address)


def _longest_zero_run(words: list[int]) -> int:
    longest = current = 0
    for word in words:
        current = current + 1 if word == 0 else 0
        longest = max(longest, current)
    return longest


# --- the VRRP part ---------------------------------------------------------------------------


class _Truncated(Exception):
    """The message ended before a field tcpdump wanted to print."""


def _vrrp_text(
    message: bytes, length: int, src: IPAddress, dst: IPAddress, ttl: int, verbose: bool, checksum_ok: bool | None
) -> str:
    """tcpdump's VRRP printer: fields in wire order, stopping with ` [|vrrp]` where bytes run out."""
    out: list[str] = []

    def byte(offset: int) -> int:
        if offset >= len(message):
            raise _Truncated
        return message[offset]

    if not message:
        return "VRRP [|vrrp]"
    try:
        version, type_ = byte(0) >> 4, byte(0) & 0x0F
        out.append(f"VRRPv{version}, {_TYPE_NAMES.get(type_, f'unknown type ({type_})')}")
        if ttl != 255:  # RFC 5798 7.1: receivers drop these; tcpdump flags them
            out.append(f", (ttl {ttl})")
        if version not in (2, 3) or type_ != 1:
            return "".join(out)
        out.append(f", vrid {byte(1)}, prio {byte(2)}")
        if version == 2:
            auth_type = byte(4)
            out.append(f", authtype {_AUTH_NAMES.get(auth_type, f'#{auth_type}')}")
            out.append(f", intvl {byte(5)}s, length {length}")
        else:
            auth_type = 0
            out.append(f", intvl {((byte(4) & 0x0F) << 8) | byte(5)}cs, length {length}")
        if not verbose:
            return "".join(out)
        count = byte(3)
        if checksum_ok is None:
            prefix = b"" if version == 2 else pseudo_header(src, dst, len(message))
            checksum_ok = internet_checksum(prefix + message) == 0
        if not checksum_ok:
            out.append(f", (bad vrrp cksum {(byte(6) << 8) | byte(7):x})")
        out.append(f", addrs({count}):" if count > 1 else ", addrs:")
        size = 4 if src.version == 4 else 16  # by the IP family, whatever the VRRP version says
        offset = HEADER_LEN
        for index in range(count):
            byte(offset + size - 1)
            address = ipaddress.ip_address(message[offset : offset + size])
            out.append(("," if index else " ") + tcpdump_address(address))
            offset += size
        if version == 2 and auth_type == 1:
            out.append(' auth "')
            for index in range(AUTH_DATA_LEN):  # a NUL-terminated string of at most 8 bytes
                if byte(offset + index) == 0:
                    break
                out.append(_printable(message[offset + index]))
            out.append('"')
    except _Truncated:
        out.append(" [|vrrp]")
    return "".join(out)


def _printable(byte: int) -> str:
    """tcpdump's escaping of one byte: `M-` for the high bit, `^X` for control characters."""
    prefix = ""
    if byte & 0x80:
        prefix, byte = "M-", byte & 0x7F
    return prefix + (chr(byte) if 0x20 <= byte < 0x7F else "^" + chr(byte ^ 0x40))


# --- the IP part -------------------------------------------------------------------------------


def _with_ip(
    body: str,
    src: IPAddress,
    dst: IPAddress,
    ts: float | None,
    ts_style: TimestampStyle,
    ttl: int,
    tos: int,
    ip_id: int,
    ip_flags: int,
    frag_offset: int,
    flowlabel: int,
    length: int,
    verbose: bool,
) -> list[str]:
    stamp = "" if ts is None else timestamp_text(ts, ts_style) + " "
    hosts = f"{tcpdump_address(src)} > {tcpdump_address(dst)}: {body}"
    if src.version == 6:
        if not verbose:
            return [f"{stamp}IP6 {hosts}"]
        details = []
        if tos:
            details.append(f"class 0x{tos:x}")
        if flowlabel:
            details.append(f"flowlabel 0x{flowlabel:05x}")
        details.append(f"hlim {ttl}, next-header VRRP (112) payload length: {length})")
        return [f"{stamp}IP6 ({', '.join(details)} {hosts}"]
    if not verbose:
        return [f"{stamp}IP {hosts}"]
    flags = ", ".join(name for bit, name in _IP_FLAG_NAMES if ip_flags & bit) or "none"
    ttl_text = f", ttl {ttl}" if ttl >= 1 else ""  # tcpdump leaves out a zero TTL
    header = (
        f"{stamp}IP (tos 0x{tos:x}{_ECN_NAMES.get(tos & 0x03, '')}{ttl_text}, id {ip_id}, "
        f"offset {frag_offset}, flags [{flags}], proto VRRP (112), length {20 + length})"
    )
    return [header, f"    {hosts}"]


def timestamp_text(ts: float, style: TimestampStyle = "local") -> str:
    """The time at the start of a tcpdump line (`-tt`: epoch)."""
    seconds, microseconds = split_timestamp(ts)
    if style == "epoch":
        return f"{seconds}.{microseconds:06d}"
    return time.strftime("%H:%M:%S", time.localtime(seconds)) + f".{microseconds:06d}"
