"""Service benchmark in the namespace lab (`make bench`; not part of the tests).

1. Lifecycle, keepalived 2.2.7 and vrrptui with the same config, 1 and 255 instances (VRRPv3
   0.1 s), r1 alone: start to the `Startup complete` log line (both print it), SIGHUP to
   `Reload complete`, SIGTERM to exit; for vrrptui also start to READY=1 and SIGHUP to the
   READY=1 after RELOADING=1 on NOTIFY_SOCKET (a datagram socket this script binds, as systemd
   does; keepalived notifies only when systemd is its parent, so it has no figure there).
2. --metrics at 255 instances (r1 master, r2 backup, both vrrptui): the backup's CPU (% of one
   core) without --metrics, with it, and with pc1 scraping it every second; the scrape's
   duration and size.

Prints tables and writes benchmarks/service-results.json. `--quick` does one repetition.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from failover import IMPLS, Timing, _cpu_seconds, _tree, config, start_peer

from vrrptui.lab.netns import Lab

RESULTS = Path(__file__).with_name("service-results.json")
WAIT = 60.0
SCRAPER = """
import statistics, sys, time, urllib.request
url, seconds = sys.argv[1], float(sys.argv[2])
durations, size, end = [], 0, time.monotonic() + seconds
while time.monotonic() < end:
    t0 = time.monotonic()
    size = len(urllib.request.urlopen(url, timeout=5).read())
    durations.append(time.monotonic() - t0)
    time.sleep(max(0.0, 1.0 - (time.monotonic() - t0)))
durations.sort()
print(statistics.median(durations), durations[int(0.95 * (len(durations) - 1))], size, len(durations))
"""


class Notify:
    def __init__(self, path: Path) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(path))
        self.sock.setblocking(False)
        self.ready: list[float] = []  # monotonic arrival of each READY=1

    def poll(self) -> None:
        while True:
            try:
                data = self.sock.recv(65536).decode()
            except BlockingIOError:
                return
            if "READY=1" in data.split("\n"):
                self.ready.append(time.monotonic())

    def close(self) -> None:
        self.sock.close()


def wait_ready(notify: Notify, timeout: float) -> float | None:
    """Arrival of the next READY=1 (polled every 5 ms), None if none comes within TIMEOUT."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        notify.poll()
        if notify.ready:
            return notify.ready.pop(0)
        time.sleep(0.005)
    return None


def wait_log(lab: Lab, proc: subprocess.Popen[Any], line: str, count: int, notify: Notify) -> float:
    """Monotonic time at which the log holds COUNT lines ending with LINE (polled every 5 ms)."""
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        notify.poll()
        if sum(1 for x in lab.log(proc).splitlines() if x.endswith(line)) >= count:
            return time.monotonic()
        time.sleep(0.005)
    raise RuntimeError(f"no {line!r} within {WAIT:g} s\n{lab.log(proc)[-1500:]}")


def lifecycle(impl: str, instances: int) -> dict[str, float | None]:
    with tempfile.TemporaryDirectory() as tmp, Lab(routers=("r1",), clients=()) as lab:
        notify = Notify(Path(tmp) / "notify")
        os.environ["NOTIFY_SOCKET"] = str(Path(tmp) / "notify")
        try:
            t0 = time.monotonic()
            proc = start_peer(lab, impl, "r1", config("r1", 150, Timing(3, 0.1), instances))
            started = wait_log(lab, proc, "Startup complete", 1, notify) - t0
            at = wait_ready(notify, 3.0)
            ready = at - t0 if at is not None else None
            time.sleep(1.0)
            notify.ready.clear()
            t1 = time.monotonic()
            proc.send_signal(signal.SIGHUP)
            reloaded = wait_log(lab, proc, "Reload complete", 1, notify) - t1
            at = wait_ready(notify, 3.0)
            reload_ready = at - t1 if at is not None else None
            time.sleep(1.0)
            t2 = time.monotonic()
            proc.send_signal(signal.SIGTERM)
            proc.wait(WAIT)
            stopped = time.monotonic() - t2
        finally:
            del os.environ["NOTIFY_SOCKET"]
            notify.close()
    return {"start_to_startup_complete_s": started, "start_to_ready_s": ready, "hup_to_reload_complete_s": reloaded,
            "hup_to_ready_s": reload_ready, "term_to_exit_s": stopped}


def _ms(values: list[float | None]) -> str:
    known = [v for v in values if v is not None]
    return f"{statistics.median(known) * 1000:.0f} ms" if known else "-"


def metrics_cost(with_metrics: bool, scraped: bool, seconds: float, instances: int = 255) -> dict[str, Any]:
    timing = Timing(3, 0.1)
    extra = ["--metrics", "192.168.1.12:9165"] if with_metrics else []
    with Lab(routers=("r1", "r2")) as lab:
        master = lab.start_vrrptui("r1", config("r1", 200, timing, instances))
        backup = lab.start_vrrptui("r2", config("r2", 100, timing, instances), extra)
        vips = {f"10.10.{vrid}.1" for vrid in range(1, instances + 1)}
        if not lab.wait_for(lambda: vips <= lab.addresses("r1") and not vips & lab.addresses("r2"), WAIT, 0.2):
            raise RuntimeError(f"{instances} instances did not settle\n{lab.log(master)[-1500:]}")
        time.sleep(6)
        tree = _tree(backup.pid)
        cpu0, t0 = _cpu_seconds(tree), time.monotonic()
        scrape = None
        if scraped:
            out = lab.exec("pc1", [sys.executable, "-c", SCRAPER, "http://192.168.1.12:9165/metrics", str(seconds)],
                           timeout=seconds + 60)
            median, p95, size, count = out.stdout.split()
            scrape = {"median_s": float(median), "p95_s": float(p95), "bytes": int(size), "scrapes": int(count)}
        else:
            time.sleep(seconds)
        cpu = (_cpu_seconds(tree) - cpu0) / (time.monotonic() - t0) * 100
        return {"metrics": with_metrics, "scraped": scraped, "backup_cpu_percent": round(cpu, 2), "scrape": scrape}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="one repetition, 10 s of load")
    args = parser.parse_args(argv)
    reps, seconds = (1, 10.0) if args.quick else (3, 30.0)
    results: dict[str, Any] = {"lifecycle": {}, "metrics": []}
    print(f"{f'lifecycle, median of {reps}':<26} {'Startup complete':>17} {'READY=1':>8} {'Reload complete':>16} "
          f"{'READY=1':>8} {'TERM->exit':>11}")
    for instances in (1, 255):
        for impl in IMPLS:
            runs = [lifecycle(impl, instances) for _ in range(reps)]
            results["lifecycle"][f"{impl}/{instances}"] = runs
            cols = [_ms([r[k] for r in runs]) for k in runs[0]]
            print(f"{impl + f', {instances} inst.':<26} {cols[0]:>17} {cols[1]:>8} {cols[2]:>16} {cols[3]:>8} "
                  f"{cols[4]:>11}")
    print()
    print(f"{'255 instances, backup':<28} {'CPU':>8} {'scrape median/p95':>20} {'size':>10}")
    for label, with_metrics, scraped in (("no metrics", False, False), ("--metrics, not scraped", True, False),
                                         ("--metrics, scraped every 1 s", True, True)):
        r = metrics_cost(with_metrics, scraped, seconds)
        results["metrics"].append(r)
        s = r["scrape"]
        scrape = f"{s['median_s'] * 1000:.1f}/{s['p95_s'] * 1000:.1f} ms" if s else "-"
        size = f"{s['bytes'] / 1000:.0f} kB" if s else "-"
        print(f"{label:<28} {r['backup_cpu_percent']:>7.1f}% {scrape:>20} "
              f"{size:>10}")
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
