"""`vrrptui replay FILE [--summary | --json] [--speed X]`."""

from __future__ import annotations

import argparse
import json
import sys

from vrrptui.records import Heard
from vrrptui.replay.capture import CaptureError, read_capture
from vrrptui.observe.failovers import find_failovers, summary_lines


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="vrrptui replay", description="a tcpdump capture (pcap or pcapng) through "
                                "the console: the panes at the recorded times, or every failover in it")
    p.add_argument("file", help="pcap or pcapng, e.g. from `tcpdump -i eth0 -w FILE vrrp or arp or icmp6`")
    out = p.add_mutually_exclusive_group()
    out.add_argument("--summary", action="store_true", help="print every failover and exit")
    out.add_argument("--json", action="store_true", help="print every failover as JSON and exit")
    p.add_argument("--speed", type=float, default=1.0, help="playback speed (default 1: recorded time)")
    args = p.parse_args(argv)
    if args.speed <= 0:
        p.error("--speed must be above 0")
    try:
        capture = read_capture(args.file)
    except CaptureError as exc:
        print(f"vrrptui replay: {exc}", file=sys.stderr)
        return 2
    failovers = find_failovers(capture.records)
    if args.json:
        adverts = sum(isinstance(r, Heard) for r in capture.records)
        print(json.dumps({"file": args.file, "packets": capture.packets, "vrrp": adverts,
                          "failovers": [f.to_json() for f in failovers]}, indent=2))
        return 0
    if args.summary:
        adverts = sum(isinstance(r, Heard) for r in capture.records)
        print("\n".join(summary_lines(args.file, capture.packets, adverts, failovers)))
        return 0
    from vrrptui.console.replay_app import run_replay

    return run_replay(args.file, list(capture.records), failovers, args.speed)
