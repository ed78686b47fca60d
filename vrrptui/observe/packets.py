"""The packets `w` writes: the newest N IP packets with their wall-clock times, packed into chunks of bytes.

At 2,550 adverts/s a deque of (time, bytes) tuples holds three Python objects per packet
(~180 B, ~18 MB for 100,000); here a packet is its bytes plus a 10-byte header inside a
chunk of CHUNK packets, and whole chunks are dropped from the old end.
"""

from __future__ import annotations

import struct
from collections import deque

CHUNK = 1024  # packets per chunk
_HEADER = struct.Struct("=dH")  # wall-clock time, packet length


class PacketRing:
    """At most `limit` packets (at least three quarters of it once that many came), oldest first."""

    def __init__(self, limit: int, chunk: int = CHUNK) -> None:
        self.limit = limit
        self.chunk = max(1, min(chunk, limit // 4))
        self.total = 0  # packets ever appended
        self._sealed: deque[tuple[bytes, int]] = deque()  # (packed packets, how many)
        self._sealed_count = 0
        self._open = bytearray()
        self._open_count = 0

    def __len__(self) -> int:
        return self._sealed_count + self._open_count

    def append(self, wall: float, packet: bytes) -> None:
        self._open += _HEADER.pack(wall, len(packet))
        self._open += packet
        self._open_count += 1
        self.total += 1
        if self._open_count >= self.chunk:
            self._sealed.append((bytes(self._open), self._open_count))
            self._sealed_count += self._open_count
            self._open = bytearray()
            self._open_count = 0
        while self._sealed and len(self) > self.limit:
            _, count = self._sealed.popleft()
            self._sealed_count -= count

    def frames(self) -> list[tuple[float, bytes]]:
        """(wall-clock time, packet) of every packet kept, oldest first."""
        out: list[tuple[float, bytes]] = []
        for data in [chunk for chunk, _ in self._sealed] + [bytes(self._open)]:
            offset = 0
            while offset < len(data):
                wall, length = _HEADER.unpack_from(data, offset)
                offset += _HEADER.size
                out.append((wall, data[offset:offset + length]))
                offset += length
        return out
