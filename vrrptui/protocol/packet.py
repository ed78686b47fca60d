"""VRRP advertisement codec: RFC 3768 (v2) and RFC 5798 / RFC 9568 (v3).

`decode()` never raises: it returns an `Advert` or a `Drop` with a typed reason,
which the engine turns into counters. `encode()` builds the VRRP message (not the
IP header; the kernel adds it on raw sockets).
"""

from __future__ import annotations

import enum
import ipaddress
from dataclasses import dataclass

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

VRRP_PROTO = 112
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
