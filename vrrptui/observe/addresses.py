"""Address text and order, remembered: the observe models ask for the same few thousands of times a second."""

from __future__ import annotations

import ipaddress
from functools import lru_cache

from vrrptui.protocol.packet import IPAddress

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
