"""What the runtime hands its `observer` (the console): immutable records, in batches.

The observer is called on the runtime's loop thread with a tuple of records: every
packet received (with its decode result), every advert sent, every engine event
(StateChanged, AdvertAccepted, Dropped, LogLine from vrrptui.engine.outputs, as they
are) and a StatusSnapshot about every 100 ms. Times `at` are the engine's clock
(`loop.time()`, monotonic); `Runtime.wall_time(at)` turns one into epoch seconds.
The console must not block in the callback: post a message to the UI and return.
"""

from __future__ import annotations

from dataclasses import dataclass

from vrrptui.engine.outputs import Event
from vrrptui.engine.status import InstanceStatus
from vrrptui.protocol.packet import Advert, Drop, IPAddress


@dataclass(frozen=True, slots=True)
class PacketReceived:
    at: float
    ifname: str
    src: IPAddress
    dst: IPAddress
    ttl: int
    payload: bytes  # the VRRP message (no IP header), for the pcap writer
    result: Advert | Drop  # vrrptui.protocol.packet.decode() of it


@dataclass(frozen=True, slots=True)
class AdvertSent:
    at: float
    instance: str
    ifname: str
    src: IPAddress
    dst: IPAddress
    priority: int
    payload: bytes


@dataclass(frozen=True, slots=True)
class StatusSnapshot:
    at: float
    wall: float  # epoch seconds matching `at`
    instances: tuple[InstanceStatus, ...]


@dataclass(frozen=True, slots=True)
class RuntimeNote:
    """Something the runtime did that the engine does not report (VIP added, GARP burst, reload...)."""

    at: float
    instance: str | None
    text: str


Observation = PacketReceived | AdvertSent | StatusSnapshot | RuntimeNote | Event
