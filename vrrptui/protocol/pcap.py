"""A plain libpcap file writer (the classic format tcpdump -r and Wireshark read).

The console saves captured adverts with it; tests use it to show packets to tcpdump.
Format: https://www.tcpdump.org/manpages/pcap-savefile.5.html (microsecond timestamps).
"""

from __future__ import annotations

import math
import struct
from collections.abc import Iterable
from os import PathLike

from vrrptui import safefiles

LINKTYPE_ETHERNET = 1
LINKTYPE_RAW = 101  # an IPv4 or IPv6 packet with no link-layer header
SNAPLEN = 262144

_FILE_HEADER = struct.Struct("<IHHiIII")  # magic, version 2.4, thiszone, sigfigs, snaplen, linktype
_RECORD_HEADER = struct.Struct("<IIII")  # seconds, microseconds, captured length, original length
_MAGIC_MICROSECONDS = 0xA1B2C3D4


def split_timestamp(timestamp: float) -> tuple[int, int]:
    """Unix time -> (seconds, microseconds), rounded as pcap stores it."""
    seconds = math.floor(timestamp)
    microseconds = round((timestamp - seconds) * 1_000_000)
    if microseconds == 1_000_000:  # rounding carried into the next second
        return seconds + 1, 0
    return seconds, microseconds


def pcap_bytes(frames: Iterable[tuple[float, bytes]], linktype: int = LINKTYPE_ETHERNET) -> bytes:
    """A whole pcap file in memory: `frames` are (unix timestamp, frame bytes) pairs."""
    parts = [_FILE_HEADER.pack(_MAGIC_MICROSECONDS, 2, 4, 0, 0, SNAPLEN, linktype)]
    for timestamp, frame in frames:
        seconds, microseconds = split_timestamp(timestamp)
        frame = bytes(frame)
        parts.append(_RECORD_HEADER.pack(seconds, microseconds, len(frame), len(frame)))
        parts.append(frame)
    return b"".join(parts)


def write_pcap(
    path: str | PathLike[str], frames: Iterable[tuple[float, bytes]], linktype: int = LINKTYPE_ETHERNET
) -> int:
    """Write (timestamp, frame) pairs to a new pcap file `path` (0600); returns the number of bytes written."""
    data = pcap_bytes(frames, linktype)
    safefiles.write_new(path, data)  # never over an existing file or through a symlink
    return len(data)
