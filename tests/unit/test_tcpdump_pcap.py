"""The pcap writer: files tcpdump and scapy read back, Ethernet and raw IP link types."""

from __future__ import annotations

import ipaddress
import struct
import subprocess
from pathlib import Path

from scapy.layers.inet import IP
from scapy.layers.l2 import Ether
from scapy.packet import Raw, raw
from scapy.utils import rdpcap

from vrrptui.protocol.packet import MCAST_V4, Advert, encode
from vrrptui.protocol.pcap import LINKTYPE_RAW, pcap_bytes, split_timestamp, write_pcap

SRC = ipaddress.ip_address("10.0.0.2")
ADVERT = encode(Advert.from_fields(3, 1, 100, 0.1, ["10.0.0.1"]), SRC, MCAST_V4)
IP_PACKET = raw(IP(src=str(SRC), dst=str(MCAST_V4), proto=112, ttl=255) / Raw(ADVERT))


def test_file_header_is_classic_pcap_microseconds() -> None:
    data = pcap_bytes([], LINKTYPE_RAW)
    assert struct.unpack("<IHHiIII", data) == (0xA1B2C3D4, 2, 4, 0, 0, 262144, 101)


def test_split_timestamp_carries_rounding() -> None:
    assert split_timestamp(1700000000.5622) == (1700000000, 562200)
    assert split_timestamp(9.9999999) == (10, 0)


def test_scapy_reads_back_ethernet_frames(tmp_path: Path) -> None:
    frame = raw(Ether(src="00:00:5e:00:01:01", dst="01:00:5e:00:00:12") / IP_PACKET)
    path = tmp_path / "eth.pcap"
    size = write_pcap(path, [(1.25, frame), (2.5, frame)])
    assert size == path.stat().st_size == 24 + 2 * (16 + len(frame))
    packets = rdpcap(str(path))
    assert [raw(p) for p in packets] == [frame, frame]
    assert [float(p.time) for p in packets] == [1.25, 2.5]


def test_tcpdump_reads_raw_ip_link_type(tmp_path: Path, tcpdump_ok: str) -> None:
    path = tmp_path / "raw.pcap"
    write_pcap(path, [(0.0, IP_PACKET)], LINKTYPE_RAW)
    result = subprocess.run([tcpdump_ok, "-n", "-t", "-r", str(path)], capture_output=True, text=True, timeout=60)
    assert "link-type RAW" in result.stderr
    assert result.stdout.splitlines() == [
        "IP 10.0.0.2 > 224.0.0.18: VRRPv3, Advertisement, vrid 1, prio 100, intvl 10cs, length 12"
    ]
