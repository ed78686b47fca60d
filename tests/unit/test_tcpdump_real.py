"""The tcpdump-style formatter compared line by line with real tcpdump reading a pcap we write.

Each case is an Ethernet frame carrying a VRRP advert; tcpdump prints the capture with
`-n -vv` (and `-n` for the compact form, `-tt` / `-t` / local time for the timestamps),
and our formatter must print the very same lines from the decoded advert and from the bytes.
"""

from __future__ import annotations

import ipaddress
import random
import subprocess
from dataclasses import dataclass, field, replace
from pathlib import Path

import pytest
from scapy.layers.inet import IP
from scapy.layers.inet6 import IPv6
from scapy.layers.l2 import Ether
from scapy.packet import Raw, raw

from vrrptui.protocol.packet import Advert, ChecksumForm, decode, encode
from vrrptui.protocol.pcap import write_pcap
from vrrptui.protocol.tcpdump import format_advert, format_compact, format_packet

ip = ipaddress.ip_address
A = Advert.from_fields
T0 = 1_700_000_000.5622  # timestamps are T0 + case index


@dataclass
class Case:
    name: str
    src: str
    dst: str
    payload: bytes
    ttl: int = 255
    tos: int = 0xC0  # IPv4 TOS or IPv6 traffic class
    ip_id: int = 3
    ip_flags: int = 0
    flowlabel: int = 0
    expect_decoded: bool = True  # our decoder accepts it (so format_advert applies)
    extra: dict = field(default_factory=dict)

    @property
    def ips(self) -> tuple:
        return ip(self.src), ip(self.dst)

    def frame(self) -> bytes:
        if ":" in self.src:
            header = IPv6(src=self.src, dst=self.dst, nh=112, hlim=self.ttl, tc=self.tos, fl=self.flowlabel)
            return raw(Ether(src="00:00:5e:00:02:2d", dst="33:33:00:00:00:12") / header / Raw(self.payload))
        header = IP(src=self.src, dst=self.dst, proto=112, ttl=self.ttl, tos=self.tos, id=self.ip_id, flags=self.ip_flags)
        return raw(Ether(src="00:00:5e:00:01:96", dst="01:00:5e:00:00:12") / header / Raw(self.payload))

    def ip_fields(self) -> dict:
        return {"ttl": self.ttl, "tos": self.tos, "ip_id": self.ip_id, "ip_flags": self.ip_flags, "flowlabel": self.flowlabel}


def message(advert: Advert, src: str, dst: str, form: ChecksumForm = ChecksumForm.PSEUDO) -> bytes:
    return encode(advert, ip(src), ip(dst), form)


def bad_checksum(data: bytes, value: int = 0x1234) -> bytes:
    return data[:6] + value.to_bytes(2, "big") + data[8:]


V4_SRC, V4_MCAST, V6_SRC, V6_MCAST = "192.168.1.11", "224.0.0.18", "fe80::1", "ff02::12"
V2_PASS = A(2, 150, 101, 1, ["192.168.1.13"], auth_pass="1212")
V2_NONE = A(2, 51, 100, 1, ["10.0.0.1"])
V3_V4 = A(3, 150, 100, 0.1, ["192.168.1.13"])
V3_V6 = A(3, 45, 191, 10, ["fe80::45"])

CASES = [
    Case("v2 PASS", V4_SRC, V4_MCAST, message(V2_PASS, V4_SRC, V4_MCAST)),
    Case("v2 none", "10.0.0.2", V4_MCAST, message(V2_NONE, "10.0.0.2", V4_MCAST), tos=0, ip_id=0, ip_flags=2),
    Case("v2 PASS 8 chars", V4_SRC, V4_MCAST, message(replace(V2_PASS, auth_data=b"12345678"), V4_SRC, V4_MCAST)),
    Case("v2 PASS escapes", V4_SRC, V4_MCAST, message(replace(V2_PASS, auth_data=b'a\x01\x7f\xff"\\ \x00'), V4_SRC, V4_MCAST)),
    Case("v2 multiple VIPs", V4_SRC, V4_MCAST, message(A(2, 7, 254, 3, [f"10.9.0.{i}" for i in range(1, 6)]), V4_SRC, V4_MCAST)),
    Case("v2 priority 0", V4_SRC, V4_MCAST, message(replace(V2_PASS, priority=0), V4_SRC, V4_MCAST)),
    Case("v3 IPv4", "192.168.1.12", V4_MCAST, message(V3_V4, "192.168.1.12", V4_MCAST)),
    Case("v3 IPv4 unicast", "192.168.1.12", "192.168.1.11", message(V3_V4, "192.168.1.12", "192.168.1.11")),
    Case("v3 IPv4 multiple VIPs", "192.168.1.12", V4_MCAST, message(A(3, 9, 200, 40.95, ["192.168.1.13", "192.168.1.14", "10.0.0.1"]), "192.168.1.12", V4_MCAST)),
    Case("v3 IPv4 message-only checksum", "192.168.1.12", V4_MCAST, message(V3_V4, "192.168.1.12", V4_MCAST, ChecksumForm.MESSAGE)),
    Case("v3 IPv6", V6_SRC, V6_MCAST, message(V3_V6, V6_SRC, V6_MCAST)),
    Case("v3 IPv6 multiple VIPs", V6_SRC, V6_MCAST, message(A(3, 45, 191, 0.05, ["fe80::45", "2001:db8::1", "::ffff:10.0.0.1"]), V6_SRC, V6_MCAST), tos=0, flowlabel=0x12345),
    Case("v2 bad checksum", V4_SRC, V4_MCAST, bad_checksum(message(V2_PASS, V4_SRC, V4_MCAST)), expect_decoded=False),
    Case("v3 IPv4 bad checksum", V4_SRC, V4_MCAST, bad_checksum(message(V3_V4, V4_SRC, V4_MCAST), 0x0012), expect_decoded=False),
    Case("v3 IPv6 bad checksum", V6_SRC, V6_MCAST, bad_checksum(message(V3_V6, V6_SRC, V6_MCAST)), expect_decoded=False),
    Case("v2 ttl 64", V4_SRC, V4_MCAST, message(V2_PASS, V4_SRC, V4_MCAST), ttl=64),
    Case("v3 IPv4 ttl 1 ECN", V4_SRC, V4_MCAST, message(V3_V4, V4_SRC, V4_MCAST), ttl=1, tos=0xC3),
    Case("v3 IPv4 ttl 0 flags", V4_SRC, V4_MCAST, message(V3_V4, V4_SRC, V4_MCAST), ttl=0, tos=0xC1, ip_flags=7),
    Case("v3 IPv6 hop limit 64", V6_SRC, V6_MCAST, message(V3_V6, V6_SRC, V6_MCAST), ttl=64, tos=0xC2, flowlabel=5),
    Case("v3 IPv4 ttl 64 and bad checksum", V4_SRC, V4_MCAST, bad_checksum(message(V3_V4, V4_SRC, V4_MCAST)), ttl=64, expect_decoded=False),
    # Packets our decoder drops: tcpdump still prints what it can, and so does format_packet.
    Case("version 1", V4_SRC, V4_MCAST, b"\x11" + message(V2_NONE, V4_SRC, V4_MCAST)[1:], expect_decoded=False),
    Case("unknown type", V4_SRC, V4_MCAST, b"\x22" + message(V2_NONE, V4_SRC, V4_MCAST)[1:], expect_decoded=False),
    Case("count 0", V4_SRC, V4_MCAST, message(A(2, 1, 100, 1, []), V4_SRC, V4_MCAST), expect_decoded=False),
    Case("authtype ah", V4_SRC, V4_MCAST, message(replace(V2_NONE, auth_type=2), V4_SRC, V4_MCAST)),
    Case("truncated header", V4_SRC, V4_MCAST, message(V2_PASS, V4_SRC, V4_MCAST)[:5], expect_decoded=False),
    Case("truncated address", V4_SRC, V4_MCAST, message(V3_V4, V4_SRC, V4_MCAST)[:10], expect_decoded=False),
    Case("truncated password", V4_SRC, V4_MCAST, message(replace(V2_PASS, auth_data=b"12345678"), V4_SRC, V4_MCAST)[:-2], expect_decoded=False),
    Case("empty", V4_SRC, V4_MCAST, b"", expect_decoded=False),
    Case("v2 trailing zero bytes", V4_SRC, V4_MCAST, message(V2_NONE, V4_SRC, V4_MCAST) + bytes(4)),
]
IDS = [case.name for case in CASES]


@pytest.fixture(scope="module")
def tcpdump_lines(tcpdump_ok: str, tmp_path_factory: pytest.TempPathFactory):
    """tcpdump's output for every case, per option set, split back into one list of lines per case."""
    path: Path = tmp_path_factory.mktemp("pcap") / "adverts.pcap"
    write_pcap(path, [(T0 + index, case.frame()) for index, case in enumerate(CASES)])

    def run(*options: str) -> list[list[str]]:
        result = subprocess.run([tcpdump_ok, "-r", str(path), *options], capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stderr
        lines = result.stdout.splitlines()
        per_case: list[list[str]] = []
        for line in lines:  # a packet starts on an unindented line
            if line.startswith("    ") and per_case:
                per_case[-1].append(line)
            else:
                per_case.append([line])
        assert len(per_case) == len(CASES), result.stdout
        return per_case

    return {
        "vv_epoch": run("-n", "-vv", "-tt"),
        "vv_none": run("-n", "-vv", "-t"),
        "vv_local": run("-n", "-vv"),
        "compact_epoch": run("-n", "-tt"),
        "compact_none": run("-n", "-t"),
    }


@pytest.mark.parametrize("index", range(len(CASES)), ids=IDS)
def test_format_packet_matches_tcpdump(index: int, tcpdump_lines: dict) -> None:
    case = CASES[index]
    src, dst = case.ips
    ts = T0 + index
    fields = case.ip_fields()
    assert format_packet(case.payload, src, dst, ts=ts, ts_style="epoch", **fields) == tcpdump_lines["vv_epoch"][index]
    assert format_packet(case.payload, src, dst, **fields) == tcpdump_lines["vv_none"][index]
    assert format_packet(case.payload, src, dst, ts=ts, **fields) == tcpdump_lines["vv_local"][index]
    compact = format_packet(case.payload, src, dst, ts=ts, ts_style="epoch", verbose=False, **fields)
    assert compact == tcpdump_lines["compact_epoch"][index]


@pytest.mark.parametrize("index", [i for i, case in enumerate(CASES) if case.expect_decoded], ids=[c.name for c in CASES if c.expect_decoded])
def test_format_advert_of_decoded_packet_matches_tcpdump(index: int, tcpdump_lines: dict) -> None:
    case = CASES[index]
    src, dst = case.ips
    advert = decode(case.payload, src, dst)
    assert isinstance(advert, Advert), advert
    fields = case.ip_fields()
    length = len(case.payload)
    ts = T0 + index
    assert format_advert(advert, src, dst, ts=ts, ts_style="epoch", length=length, **fields) == tcpdump_lines["vv_epoch"][index]
    assert format_advert(advert, src, dst, length=length, **fields) == tcpdump_lines["vv_none"][index]
    assert format_advert(advert, src, dst, ts=ts, length=length, **fields) == tcpdump_lines["vv_local"][index]
    if length == len(encode(advert, src, dst)):  # the compact form has no length override
        assert [format_compact(advert, src, dst, ts=ts, ts_style="epoch", ttl=case.ttl)] == tcpdump_lines["compact_epoch"][index]
        assert [format_compact(advert, src, dst, ttl=case.ttl)] == tcpdump_lines["compact_none"][index]


@pytest.mark.parametrize("name", ["v2 bad checksum", "v3 IPv4 bad checksum", "v3 IPv6 bad checksum", "v3 IPv4 ttl 64 and bad checksum"])
def test_format_advert_with_checksum_ok_false_matches_tcpdump(name: str, tcpdump_lines: dict) -> None:
    # The console may show a dropped advert: the fields as sent, flagged like tcpdump does.
    index = IDS.index(name)
    case = CASES[index]
    src, dst = case.ips
    original = {"v2": V2_PASS, "v3 IPv4": V3_V4, "v3 IPv6": V3_V6}[name.split(" bad")[0].split(" ttl")[0]]
    advert = replace(original, checksum=int.from_bytes(case.payload[6:8], "big"))
    lines = format_advert(advert, src, dst, ts=T0 + index, ts_style="epoch", checksum_ok=False, **case.ip_fields())
    assert lines == tcpdump_lines["vv_epoch"][index]


def test_format_packet_matches_tcpdump_on_randomly_damaged_adverts(tcpdump_ok: str, tmp_path: Path) -> None:
    # Seeded, so a failure reproduces: flipped bytes, truncations and extensions of valid adverts.
    rng = random.Random(112)
    valid = [case for case in CASES if case.expect_decoded]
    damaged: list[Case] = []
    for _ in range(300):
        case = rng.choice(valid)
        payload = bytearray(case.payload)
        for _ in range(rng.randint(1, 3)):
            what = rng.choice(["flip", "truncate", "extend"])
            if what == "flip" and payload:
                payload[rng.randrange(len(payload))] = rng.randrange(256)
            elif what == "truncate":
                del payload[rng.randrange(len(payload) + 1) :]
            else:
                payload += rng.randbytes(rng.randint(1, 20))
        damaged.append(replace(case, payload=bytes(payload), ttl=rng.choice([255, 255, 64])))
    path = tmp_path / "damaged.pcap"
    write_pcap(path, [(T0, case.frame()) for case in damaged])
    result = subprocess.run([tcpdump_ok, "-n", "-vv", "-t", "-r", str(path)], capture_output=True, text=True, timeout=60)
    ours: list[str] = []
    for case in damaged:
        ours += format_packet(case.payload, *case.ips, **case.ip_fields())
    theirs = result.stdout.splitlines()
    mismatches = [(a, b) for a, b in zip(theirs, ours, strict=False) if a != b]
    assert not mismatches[:3]
    assert len(theirs) == len(ours)
