"""Console benchmark in the namespace lab (`make bench`; not part of the tests).

The console runs headless (App.run_test) in a lab namespace, driven over a pipe by this same
file in driver mode (`console.py driver ...`), exactly as the pilot tests drive it.

1. Segment: a generator (keepalived by default, or headless vrrptui) in r1 runs 255 VRIDs at
   VRRPv3 0.1 s as masters (2,550 adverts/s nominal). On r2, the console either runs those 255
   instances as backups (priority 100 < 200) or sniffs (`vrrptui sniff eth0`); tcpdump runs on
   r2's eth0 at the same time. The counting window is bounded by two silences: the generator is
   stopped (SIGSTOP) for 0.16 s around each boundary, so which packets fall inside is unambiguous
   for both counters. Console count = what its peer model counted for r1 (adverts + drops);
   tcpdump count = r1's adverts in the pcap inside the window.
2. Key-press-to-screen latency under that load: a key event goes in through the app's driver (as
   from a terminal); the time ends at the first compositor frame that shows the result: the help
   screen or the priority dialog rendered, or a frame that repainted the instances table with the
   cursor on the new row. Median and p95.
3. CPU % of one core (whole console process and per thread) and RSS at start, middle and end of
   the window (default 300 s, --quick 30 s).
4. Takeover: r1 headless vrrptui (110) master, r2 backup (100) headless or console, VRRPv3 0.1 s;
   cable pull on r1; latency = r1's last advert to r2's first, from tcpdump on the bridge; on a
   quiet segment and with 254 other VRIDs at 0.1 s from r3 (the console's log scrolls ~2,500
   lines/s). Printed beside the theoretical Master_Down_Interval.

Prints tables and writes benchmarks/console-results.json.

Diagnostics (environment of the driver, for whoever chases the figures): BENCH_BURSTS=1 prints
every UI-thread callback over 50 ms to the driver's stderr; BENCH_SWITCH=SECONDS sets
sys.setswitchinterval; BENCH_PROFILE=FILE writes the UI thread's cProfile stats there at quit.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from dataclasses import asdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from console_driver import driver_main  # noqa: E402
from console_lab import INSTANCES, SegmentResult, TakeoverResult, run_segment, run_takeover  # noqa: E402
from console_report import print_segments, print_takeover  # noqa: E402

RESULTS = Path(__file__).with_name("console-results.json")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["driver"]:
        return driver_main(argv[1:])
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="30 s window, 10 presses, 2 takeover reps")
    parser.add_argument("--window", type=float, default=None, help="console window in s (default 300, --quick 30)")
    parser.add_argument("--sniff-window", type=float, default=None, help="sniff window in s (default 60, --quick 15)")
    parser.add_argument("--presses", type=int, default=None, help="presses per key (default 20, --quick 10)")
    parser.add_argument("--reps", type=int, default=None, help="takeover repetitions (default 5, --quick 2)")
    parser.add_argument("--generator", default="keepalived", choices=("keepalived", "vrrptui"),
                        help="what sends the 255 VRIDs (default keepalived: the cheaper, steadier sender)")
    parser.add_argument("--skip", default="", help="comma-separated: idle,console,sniff,takeover")
    parser.add_argument("--idle-window", type=float, default=None, help="idle window in s (default 60, --quick 20)")
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    if os.geteuid() != 0:
        print("console.py: needs root (network namespaces); run `sudo make bench`", file=sys.stderr)
        return 1
    window = args.window or (30.0 if args.quick else 300.0)
    sniff_window = args.sniff_window or (15.0 if args.quick else 60.0)
    presses = args.presses or (10 if args.quick else 20)
    reps = args.reps or (2 if args.quick else 5)
    skip = set(filter(None, args.skip.split(",")))
    started = time.time()
    segments: list[SegmentResult] = []
    takeovers: list[TakeoverResult] = []
    errors: list[str] = []
    idle = None
    if "idle" not in skip:
        from console_idle import print_idle, run_idle

        try:
            idle = run_idle(args.idle_window or (20.0 if args.quick else 60.0), args.generator)
            print_idle(idle)
        except Exception as exc:
            errors.append(f"idle: {exc}")
    for mode, w in (("console", window), ("sniff", sniff_window)):
        if mode in skip:
            continue
        print(f"segment: {mode}, {INSTANCES} VRIDs from {args.generator}, {w:g} s window ...", file=sys.stderr,
              flush=True)
        try:
            segments.append(run_segment(mode, w, presses, args.generator))
        except Exception as exc:
            errors.append(f"segment {mode}: {exc}")
    if "takeover" not in skip:
        try:
            takeovers = run_takeover(reps, args.generator)
        except Exception as exc:
            errors.append(f"takeover: {exc}")
    if segments:
        print()
        print_segments(segments)
    if takeovers:
        print()
        print_takeover(takeovers)
    for e in errors:
        print(f"ERROR {e}", file=sys.stderr)
    report = {
        "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "host": {"kernel": platform.release(), "cpus": os.cpu_count(), "python": platform.python_version()},
        "args": {
            "window_s": window,
            "sniff_window_s": sniff_window,
            "presses": presses,
            "reps": reps,
            "generator": args.generator,
        },
        "idle": asdict(idle) if idle else None,
        "segments": [asdict(s) for s in segments],
        "takeover": [asdict(t) for t in takeovers],
        "errors": errors,
        "duration_s": round(time.time() - started, 1),
    }
    args.output.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nwrote {args.output} ({report['duration_s']} s)")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
