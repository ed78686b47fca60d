"""One VRRP packet seen on the wire, as every observe model takes it."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from functools import lru_cache
from typing import NamedTuple

from vrrptui.protocol.packet import Advert, Drop, IPAddress

# Sources kept per virtual router by the peers and the timeline; a VRID has a handful of routers,
# more is a misconfigured or hostile segment, where the longest-silent source is forgotten first.
MAX_SOURCES = 16
ADDRESS_CACHE = 4096  # addresses whose text / order is remembered (2,550 packets/s ask for the same few)


@lru_cache(maxsize=ADDRESS_CACHE)
def address_text(addr: IPAddress) -> str:
    """str(addr), remembered: ipaddress formats it anew on every call."""
    return str(addr)


@lru_cache(maxsize=ADDRESS_CACHE)
def address_order(text: str) -> tuple[int, int]:
    """Sort key of an address in text: IPv4 before IPv6, then numerically."""
    addr = ipaddress.ip_address(text)
    return (addr.version, int(addr))


@lru_cache(maxsize=ADDRESS_CACHE)
def normal_address(text: str) -> str:
    """The canonical text of an address ("fd00::045" -> "fd00::45"); ValueError when it is none."""
    return str(ipaddress.ip_address(text))


class RouterKey(NamedTuple):
    """A virtual router on a segment: VRIDs are per interface and per family (RFC 5798 5.2.3)."""

    ifname: str
    vrid: int
    family: int

    def __str__(self) -> str:
        return f"{self.ifname} vrid {self.vrid} IPv{self.family}"


@dataclass(frozen=True, slots=True)
class Heard:
    """A received (or, with `outgoing`, our own) VRRP packet and what decode() made of it."""

    ifname: str
    at: float  # monotonic seconds, the capture time
    src: IPAddress
    dst: IPAddress
    ttl: int
    result: Advert | Drop
    payload: bytes = b""
    src_mac: str | None = None
    outgoing: bool = False

    @property
    def vrid(self) -> int | None:
        """The VRID even of a dropped packet (byte 1 of the message), None when too short."""
        if isinstance(self.result, Advert):
            return self.result.vrid
        return self.payload[1] if len(self.payload) >= 2 else None

    @property
    def key(self) -> RouterKey | None:
        vrid = self.vrid
        return None if vrid is None else RouterKey(self.ifname, vrid, self.src.version)
