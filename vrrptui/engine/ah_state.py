"""The counters of one `auth_type AH` instance, kept as keepalived keeps them.

keepalived uses one sequence number per instance for sending and for replay
protection: each advert round sends the next number, and every valid AH advert
received with a higher number moves the counter up to it (a backup thus continues
from its master's number when it takes over). The IP ID counts adverts from 1 and
skips 0 (the kernel would fill in its own). One round to several unicast peers
shares one ID and one sequence number.
"""

from __future__ import annotations

import ipaddress

from vrrptui.config.model import VrrpInstance
from vrrptui.protocol import ah
from vrrptui.protocol.packet import IPAddress


def uses_ah(inst: VrrpInstance) -> bool:
    """keepalived speaks AH for VRRPv2 over IPv4 only (it ignores AH with v3 / IPv6)."""
    auth = inst.authentication
    return auth is not None and auth.auth_type == "AH" and inst.version == 2 and inst.family == 4


RESIGN_RESERVE = 1000  # sequence numbers a journalled priority-0 round stays ahead of the adverts sent


class AhState:
    def __init__(self, inst: VrrpInstance) -> None:
        assert inst.authentication is not None
        self.key = ah.hmac_key(inst.authentication.auth_pass)
        self.unicast = inst.unicast
        self.sequence = 0
        self.ip_id = 0
        self.ceiling: int | None = None  # the highest number a journalled priority-0 round is ahead of

    def resign_datagrams(self, message: bytes, src: IPAddress, destinations: list[IPAddress]) -> list[bytes]:
        """The priority-0 round the guardian sends if the daemon is killed (daemon/guardian.py), built now and
        journalled. Its sequence number is RESIGN_RESERVE ahead of the counter, so a receiver takes it as new
        for as long as the counter stays at or below `ceiling`; past it, `reserve_used` says to build it again.
        The counter is not moved: a jump of the reserve is taken by keepalived as by vrrptui."""
        self.ceiling = min(self.sequence + RESIGN_RESERVE, ah.MAX_SEQUENCE - 1)
        return [ah.build(message, _v4(src), _v4(dst), ip_id=self.ip_id % 0xFFFF + 1, sequence=self.ceiling + 1,
                         key=self.key, unicast=self.unicast) for dst in destinations]

    def reserve_used(self) -> bool:
        """True once when the counter reached `ceiling`: the journalled round must be built again."""
        if self.ceiling is not None and self.sequence >= self.ceiling:
            self.ceiling = None
            return True
        return False

    def datagrams(self, message: bytes, src: IPAddress, destinations: list[IPAddress]) -> list[bytes]:
        """One advert round: the next ID and sequence number, one datagram per destination."""
        self.ip_id = self.ip_id % 0xFFFF + 1
        if self.sequence <= ah.MAX_SEQUENCE:
            self.sequence += 1
        return [ah.build(message, _v4(src), _v4(dst), ip_id=self.ip_id, sequence=self.sequence, key=self.key,
                         unicast=self.unicast) for dst in destinations]

    def check(self, packet: ah.AhPacket) -> str | None:
        """None when the ICV, SPI and sequence number hold (the counter then moves up); else keepalived's line."""
        failure = ah.verify(packet, self.key, self.unicast)
        if failure is not None:
            return failure
        if packet.sequence > self.sequence:
            self.sequence = packet.sequence
            return None
        return (f"IPSEC-AH : sequence number {packet.sequence} already processed. Packet dropped. "
                f"Local({self.sequence})")


def _v4(address: IPAddress) -> ipaddress.IPv4Address:
    if not isinstance(address, ipaddress.IPv4Address):
        raise ValueError(f"AH adverts are IPv4 only, got {address}")
    return address
