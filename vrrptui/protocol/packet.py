"""VRRP advertisement codec: RFC 3768 (v2) and RFC 5798 / RFC 9568 (v3).

`decode()` never raises: it returns an `Advert` or a `Drop` with a typed reason,
which the engine turns into counters. `encode()` builds the VRRP message (not the
IP header; the kernel adds it on raw sockets).
"""

from __future__ import annotations

import enum
import ipaddress
import struct
from collections.abc import Iterable
from dataclasses import dataclass, replace

from vrrptui.protocol import VRRP_PROTO, VRRP_TTL  # noqa: F401  (here for the codec's users)

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

MCAST_V4 = ipaddress.IPv4Address("224.0.0.18")
MCAST_V6 = ipaddress.IPv6Address("ff02::12")
AUTH_NONE = 0
AUTH_PASS = 1
AUTH_AH = 2


class ChecksumForm(enum.Enum):
    """Which bytes a received checksum covered."""

    MESSAGE = "message"  # VRRP message only: v2 always; some v3/IPv4 vendors (RFC 9568)
    PSEUDO = "pseudo"  # with the IP pseudo-header: v3/IPv6 always; v3/IPv4 as keepalived


class DropReason(enum.Enum):
    """Why a received packet was not used. Values are the counter names."""

    SHORT = "short"  # shorter than a VRRP header
    VERSION = "version"  # not 2 or 3, or v2 carried over IPv6
    TYPE = "type"  # not an Advertisement (1)
    COUNT = "count"  # count 0 (RFC 9568)
    LENGTH = "length"  # count / length mismatch
    CHECKSUM = "checksum"
    INTERVAL = "interval"  # interval 0, or v2 mismatch with ours
    TTL = "ttl"
    VRID = "vrid"  # not one of ours
    AUTH = "auth"
    ADDRESS_LIST = "address_list"
    UNICAST_SOURCE = "unicast_source"
    OWNER_CONFLICT = "owner_conflict"  # priority 255 from another router while we own the addresses


@dataclass(frozen=True, slots=True)
class Drop:
    reason: DropReason
    detail: str = ""


@dataclass(frozen=True, slots=True)
class Advert:
    """A decoded VRRP advertisement (the VRRP message, no IP header).

    `max_advert_int` is in seconds for both versions (v2: whole seconds; v3: cs / 100).
    """

    version: int
    vrid: int
    priority: int
    max_advert_int: float
    addresses: tuple[IPAddress, ...]
    auth_type: int = AUTH_NONE
    auth_data: bytes = b""  # v2: the 8 bytes as received (zero padded)
    checksum: int = 0
    checksum_form: ChecksumForm = ChecksumForm.PSEUDO
    type: int = 1

    @property
    def family(self) -> int:
        return self.addresses[0].version if self.addresses else 4

    @property
    def auth_pass(self) -> str:
        return self.auth_data.rstrip(b"\0").decode("latin-1")

    @classmethod
    def from_fields(
        cls,
        version: int,
        vrid: int,
        priority: int,
        max_advert_int: float,
        addresses: Iterable[str | IPAddress],
        auth_pass: str | None = None,
    ) -> Advert:
        """Convenience: addresses as strings; v2 `auth_pass` -> simple auth (zero padded to 8)."""
        addrs = tuple(ipaddress.ip_address(a) for a in addresses)
        if version != 2:
            return cls(version, vrid, priority, max_advert_int, addrs)
        auth_type = AUTH_NONE if auth_pass is None else AUTH_PASS
        auth_data = pad_auth((auth_pass or "").encode("latin-1"))  # as decode() returns it
        return cls(version, vrid, priority, max_advert_int, addrs, auth_type, auth_data)


# --- wire layout ---------------------------------------------------------------

# RFC 3768 5.1 / RFC 5798 5.1: ver|type, vrid, priority, count, then (v2) auth type + interval
# or (v3) 4 reserved bits + 12-bit interval, then the checksum.
HEADER = struct.Struct("!BBBBBBH")
HEADER_LEN = HEADER.size  # 8
AUTH_DATA_LEN = 8  # v2 only: trails the addresses
V3_MAX_INTERVAL_CS = 0x0FFF
CARP_LEN = 36  # OpenBSD CARP: same protocol 112, first byte 0x21, fixed 36 bytes
CARP_AUTHLEN = 7  # CARP's byte 3 (where VRRP has the count): the HMAC length in 32-bit words


def pad_auth(data: bytes) -> bytes:
    """v2 auth data: at most 8 bytes, zero padded (RFC 3768 5.3.10; keepalived truncates longer)."""
    return data[:AUTH_DATA_LEN].ljust(AUTH_DATA_LEN, b"\0")


def internet_checksum(data: bytes) -> int:
    """RFC 1071 one's-complement sum of 16-bit words, complemented. 0 over a valid message."""
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def pseudo_header(src: IPAddress, dst: IPAddress, length: int, protocol: int = VRRP_PROTO) -> bytes:
    """The IPv4 (RFC 768 style) or IPv6 (RFC 8200 8.1) pseudo-header, for protocol 112 unless told.

    `protocol` lets the ICMPv6 senders (58: NA, NS) checksum with the same layout.
    """
    if src.version != dst.version:
        raise ValueError(f"source {src} and destination {dst} are of different families")
    if src.version == 4:
        return src.packed + dst.packed + struct.pack("!BBH", 0, protocol, length)
    return src.packed + dst.packed + struct.pack("!I3xB", length, protocol)


def _message_length(version: int, count: int, family: int) -> int:
    size = HEADER_LEN + count * (4 if family == 4 else 16)
    return size + AUTH_DATA_LEN if version == 2 else size


# --- encode --------------------------------------------------------------------


def encode(
    advert: Advert,
    src: IPAddress | None = None,
    dst: IPAddress | None = None,
    checksum_form: ChecksumForm = ChecksumForm.PSEUDO,
) -> bytes:
    """The VRRP message for `advert`, checksum filled in (no IP header).

    v2: checksum over the message (RFC 3768 5.3.8). v3: with the pseudo-header
    (RFC 5798 5.2.8), which needs `src` and `dst`; `ChecksumForm.MESSAGE` builds the
    message-only v3/IPv4 form some vendors send. `advert.checksum` is ignored.
    Field values are range-checked against the wire format only (interval 0 or
    count 0 can be built, so tests can craft packets a receiver must drop).
    """
    version, family = advert.version, advert.family
    if version not in (2, 3):
        raise ValueError(f"VRRP version {version} cannot be encoded: use 2 or 3")
    if any(a.version != family for a in advert.addresses):
        raise ValueError(f"addresses mix IPv4 and IPv6: {', '.join(map(str, advert.addresses))}")
    if version == 2 and family == 6:
        raise ValueError("VRRPv2 carries IPv4 addresses only: use version 3 for IPv6")
    if len(advert.addresses) > 255:
        raise ValueError(f"{len(advert.addresses)} addresses do not fit the 8-bit count field")
    if version == 2:
        interval = round(advert.max_advert_int)
        if not 0 <= interval <= 255:
            raise ValueError(f"v2 advert interval {advert.max_advert_int} s is outside 0-255 whole seconds")
        second_word = (advert.auth_type, interval)
    else:
        interval = round(advert.max_advert_int * 100)
        if not 0 <= interval <= V3_MAX_INTERVAL_CS:
            raise ValueError(f"v3 advert interval {advert.max_advert_int} s is outside 0-40.95 s")
        second_word = (interval >> 8, interval & 0xFF)
    header = HEADER.pack(
        (version << 4) | advert.type, advert.vrid, advert.priority, len(advert.addresses), *second_word, 0
    )
    message = header + b"".join(a.packed for a in advert.addresses)
    if version == 2:
        message += pad_auth(advert.auth_data)
    return _with_checksum(message, _checksum_prefix(version, family, src, dst, len(message), checksum_form))


def _checksum_prefix(
    version: int, family: int, src: IPAddress | None, dst: IPAddress | None, length: int, form: ChecksumForm
) -> bytes:
    if version == 2 or (form is ChecksumForm.MESSAGE and family == 4):
        return b""
    if src is None or dst is None:
        raise ValueError("the VRRPv3 checksum covers the IP pseudo-header: pass src and dst")
    if src.version != family or dst.version != family:
        raise ValueError(f"src {src} / dst {dst} are not IPv{family} like the advert's addresses")
    return pseudo_header(src, dst, length)


def _with_checksum(message: bytes, prefix: bytes) -> bytes:
    checksum = internet_checksum(prefix + message)
    return message[:6] + checksum.to_bytes(2, "big") + message[8:]


# --- decode --------------------------------------------------------------------


def decode(
    data: bytes,
    src: IPAddress | None = None,
    dst: IPAddress | None = None,
    family: int = 4,
) -> Advert | Drop:
    """Parse a received VRRP message (the IP payload). Never raises.

    `family` is the IP family it arrived on; `src`/`dst` (the IP addresses) set it when
    given and are needed to verify a v3 pseudo-header checksum. Checks run in header
    order (short, version, type, count, length, checksum, interval); the first failure
    is the reason. Trailing bytes after the message are tolerated and not checksummed:
    RFC 5798 7.1 asks only that the packet *contains* the complete message. (keepalived
    2.2 checksums the same span but drops any surplus as "vrrp packet too long".)
    """
    return _decode(bytes(data), src, dst, src.version if src is not None else family)


def _decode(data: bytes, src: IPAddress | None, dst: IPAddress | None, family: int) -> Advert | Drop:
    if len(data) < HEADER_LEN:
        return Drop(DropReason.SHORT, f"{len(data)} bytes, a VRRP header is {HEADER_LEN}")
    ver_type, vrid, priority, count, byte4, byte5, checksum = HEADER.unpack_from(data)
    version, type_ = ver_type >> 4, ver_type & 0x0F
    if version not in (2, 3):
        return Drop(DropReason.VERSION, f"version {version}")
    if version == 2 and family == 6:
        return Drop(DropReason.VERSION, "VRRPv2 over IPv6")
    expected = _message_length(version, count, family)
    if version == 2 and len(data) == CARP_LEN and count == CARP_AUTHLEN:  # a v2 count of 7 needs 52 bytes
        return Drop(DropReason.VERSION, "36-byte protocol 112 packet with first byte 0x21: CARP, not VRRP")
    if type_ != 1:
        return Drop(DropReason.TYPE, f"type {type_}, only 1 (Advertisement) exists")
    if count == 0:
        return Drop(DropReason.COUNT, "count 0 (RFC 9568 5.2.5)")
    if len(data) < expected:
        return Drop(DropReason.LENGTH, f"{len(data)} bytes, count {count} needs {expected}")
    message = data[:expected]
    form = _verify_checksum(message, version, family, src, dst)
    if isinstance(form, Drop):
        return form
    if version == 2:
        interval = float(byte5)
        auth_type, auth_data = byte4, message[-AUTH_DATA_LEN:]
    else:
        interval = (((byte4 & 0x0F) << 8) | byte5) / 100
        auth_type, auth_data = AUTH_NONE, b""
    if interval == 0:
        return Drop(DropReason.INTERVAL, "advert interval 0")
    size = 4 if family == 4 else 16
    addr_type = ipaddress.IPv4Address if family == 4 else ipaddress.IPv6Address
    addresses = tuple(addr_type(message[i : i + size]) for i in range(HEADER_LEN, HEADER_LEN + count * size, size))
    return Advert(version, vrid, priority, interval, addresses, auth_type, auth_data, checksum, form, type_)


def _verify_checksum(
    message: bytes, version: int, family: int, src: IPAddress | None, dst: IPAddress | None
) -> ChecksumForm | Drop:
    if version == 2:
        if internet_checksum(message) == 0:
            return ChecksumForm.MESSAGE
        return Drop(DropReason.CHECKSUM, "VRRPv2 checksum over the message does not verify")
    have_ips = src is not None and dst is not None and src.version == family and dst.version == family
    if have_ips and internet_checksum(pseudo_header(src, dst, len(message)) + message) == 0:  # type: ignore[arg-type]
        return ChecksumForm.PSEUDO
    # RFC 9568 / some vendors: v3 over IPv4 checksummed over the message alone
    if family == 4 and internet_checksum(message) == 0:
        return ChecksumForm.MESSAGE
    if not have_ips:
        return Drop(DropReason.CHECKSUM, f"VRRPv3/IPv{family} pseudo-header checksum needs src and dst")
    if family == 4:
        return Drop(DropReason.CHECKSUM, "VRRPv3 checksum verifies neither with nor without the pseudo-header")
    return Drop(DropReason.CHECKSUM, "VRRPv3/IPv6 pseudo-header checksum does not verify")


# --- sending -------------------------------------------------------------------


class AdvertCache:
    """An instance's advert bytes, built once per (priority, src, dst) and reused.

    The template holds what rarely changes (version, VRID, interval, addresses,
    auth); its `priority` is ignored. Replace `template` when any of that changes:
    the cache empties. Priority changes (trackers, priority 0 on shutdown) and a new
    source address each get their own entry, so flapping between two values is free.
    """

    MAX_ENTRIES = 64  # bounds memory if priority or peers churn

    def __init__(self, template: Advert, checksum_form: ChecksumForm = ChecksumForm.PSEUDO) -> None:
        self._template = template
        self._checksum_form = checksum_form
        self._built: dict[tuple[int, IPAddress | None, IPAddress | None], bytes] = {}
        self._adverts: dict[int, Advert] = {}

    @property
    def template(self) -> Advert:
        return self._template

    @template.setter
    def template(self, template: Advert) -> None:
        if template != self._template:
            self._template = template
            self._built.clear()
            self._adverts.clear()

    def advert(self, priority: int) -> Advert:
        """The advert with `priority` (checksum 0: encode computes it per destination)."""
        found = self._adverts.get(priority)
        if found is None:
            if len(self._adverts) >= self.MAX_ENTRIES:
                self._adverts.clear()
            found = self._adverts[priority] = replace(self._template, priority=priority)
        return found

    def get(self, priority: int, src: IPAddress | None = None, dst: IPAddress | None = None) -> bytes:
        template = self._template
        uses_ips = template.version == 3 and not (template.family == 4 and self._checksum_form is ChecksumForm.MESSAGE)
        key = (priority, src, dst) if uses_ips else (priority, None, None)  # v2: checksum ignores the IPs
        message = self._built.get(key)
        if message is None:
            if len(self._built) >= self.MAX_ENTRIES:
                self._built.clear()
            message = encode(self.advert(priority), src, dst, self._checksum_form)
            self._built[key] = message
        return message
