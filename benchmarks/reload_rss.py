"""Memory over SIGHUP reloads, vrrptui beside keepalived 2.2.7 (`make bench`; not part of the tests).

r1 alone in the namespace lab with one VRRPv3 0.1 s instance (it becomes master and holds
its VIP). Each implementation gets N SIGHUPs, the next one once the log says `Reload
complete`; the RSS of its process tree (keepalived: parent and VRRP child) is read after
start-up and every 100 reloads. Prints the growth and writes benchmarks/reload-rss-results.json.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import time
from pathlib import Path
from typing import Any

import psutil
from failover import Timing, _tree, config, start_peer

from vrrptui.lab.netns import Lab

RESULTS = Path(__file__).with_name("reload-rss-results.json")


def rss_mb(pid: int) -> float:
    total = 0
    for p in _tree(pid):
        try:
            total += p.memory_info().rss
        except psutil.NoSuchProcess:
            pass
    return total / 1e6


def reloads(impl: str, count: int) -> dict[str, Any]:
    with Lab(routers=("r1",), clients=()) as lab:
        proc = start_peer(lab, impl, "r1", config("r1", 150, Timing(3, 0.1)))
        seen = 0

        def wait_lines(line: str, n: int) -> None:
            nonlocal seen
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                text = lab.log(proc)
                seen = text.count(line)
                if seen >= n:
                    return
                time.sleep(0.01)
            raise RuntimeError(f"{impl}: {n} x {line!r} not seen\n{lab.log(proc)[-1500:]}")

        wait_lines("Startup complete", 1)
        time.sleep(2.0)
        samples = [(0, rss_mb(proc.pid))]
        for i in range(1, count + 1):
            proc.send_signal(signal.SIGHUP)
            wait_lines("Reload complete", i)
            if i % 100 == 0 or i == count:
                time.sleep(0.5)
                samples.append((i, rss_mb(proc.pid)))
                print(f"  {impl}: {i} reloads, RSS {samples[-1][1]:.2f} MB", file=sys.stderr, flush=True)
        lab.stop(proc)
    return {"samples": samples, "growth_mb": samples[-1][1] - samples[0][1]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--reloads", type=int, default=500)
    args = parser.parse_args(argv)
    results = {impl: reloads(impl, args.reloads) for impl in ("keepalived", "vrrptui")}
    print(f"RSS over {args.reloads} SIGHUP reloads (1 instance, v3 0.1 s, master)")
    print(f"{'':12} {'start MB':>9} {'end MB':>8} {'growth MB':>10}")
    for impl, r in results.items():
        print(f"{impl:12} {r['samples'][0][1]:9.2f} {r['samples'][-1][1]:8.2f} {r['growth_mb']:+10.2f}")
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
