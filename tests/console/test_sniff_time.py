"""`vrrptui sniff` dates what it captures: log lines and pcap records carry the wall clock, not uptime."""

from __future__ import annotations

import dataclasses
import struct
import time

import harness as h
from vrrptui.console.app import VrrpConsole
from vrrptui.console.cli import build_sniff
from vrrptui.console.backends import NullBackend
from vrrptui.protocol.pcap import LINKTYPE_RAW, write_pcap


def test_sniffed_adverts_are_logged_and_written_with_the_time_of_day(tmp_path):
    app = build_sniff(["lo", "--drills", str(tmp_path / "drills.jsonl")],
                      backend_factory=lambda ifname: NullBackend(engine=False), prober_factory=lambda report: None,
                      host_factory=None)
    assert isinstance(app, VrrpConsole)
    now = time.monotonic()
    packet = dataclasses.replace(h.advert(), at=now)
    app.session.feed([h.heard(packet, h.MAC_PEER)], now)
    line = app.session.text(app.session.log[-1])[0]
    assert line.startswith(time.strftime("%H:%M:%S", time.localtime(time.time()))[:5]), line
    frames = app.session.pcap_frames()
    write_pcap(tmp_path / "x.pcap", frames, LINKTYPE_RAW)
    count = len(frames)
    record_seconds = struct.unpack("<I", (tmp_path / "x.pcap").read_bytes()[24:28])[0]
    assert count == 1 and abs(record_seconds - time.time()) < 5
