"""Failover benchmark in the namespace lab (`make bench`; not part of the tests).

1. Drills, r1 (priority 110, master) and r2 (priority 100, backup), same implementation on both:
   - cable pull: r1's bridge port goes down; theory = r2's Master_Down_Interval;
   - graceful: SIGTERM to r1 (priority-0 advert); theory = r2's Skew_Time (RFC 5798 6.4.2).
   at VRRPv2 1 s and VRRPv3 0.1 s. Takeover latency = last advert of the old master to the first
   advert of the new one, both as tcpdump on the bridge saw them; client outage = the longest gap
   between ping replies from pc1 to the VIP (ping every 10 ms).
2. Load: 255 instances at VRRPv3 0.1 s on one interface; CPU % of one core and RSS of the
   master's and the backup's processes (process tree: keepalived's parent + VRRP child).

Prints a table and writes benchmarks/results.json. `--quick` does one repetition of each.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import psutil

from vrrptui.lab.netns import Lab, SeenAdvert
from vrrptui.protocol.timers import master_down_interval, skew_time

IMPLS = ("keepalived", "vrrptui")
VIP = "192.168.1.100"
MASTER, BACKUP = "r1", "r2"
MASTER_PRIORITY, BACKUP_PRIORITY = 110, 100
RESULTS = Path(__file__).with_name("results.json")


@dataclass(frozen=True)
class Timing:
    version: int
    interval: float  # seconds

    @property
    def label(self) -> str:
        return f"v{self.version} {self.interval:g}s"


TIMINGS = (Timing(2, 1.0), Timing(3, 0.1))


def instance_block(name: str, vrid: int, priority: int, timing: Timing, vips: list[str], iface: str = "eth0") -> str:
    auth = ("    authentication {\n        auth_type PASS\n        auth_pass 1212\n    }\n"
            if timing.version == 2 else "")
    addrs = "\n".join(f"        {v}" for v in vips)
    return (
        f"vrrp_instance {name} {{\n    state BACKUP\n    interface {iface}\n    virtual_router_id {vrid}\n"
        f"    priority {priority}\n    advert_int {timing.interval:g}\n{auth}"
        f"    virtual_ipaddress {{\n{addrs}\n    }}\n}}\n"
    )


def config(router_id: str, priority: int, timing: Timing, instances: int = 1) -> str:
    """A keepalived.conf both implementations read (vrrptui reads keepalived.conf as is)."""
    head = f"global_defs {{\n    router_id {router_id}\n    vrrp_version {timing.version}\n}}\n"
    if instances == 1:
        return head + instance_block("VI_1", 51, priority, timing, [f"{VIP}/24"])
    blocks = [instance_block(f"VI_{vrid}", vrid, priority, timing, [f"10.10.{vrid}.1/32"])
              for vrid in range(1, instances + 1)]
    return head + "".join(blocks)


def start_peer(lab: Lab, impl: str, node: str, conf: str) -> subprocess.Popen[Any]:
    """The one place that knows how to start each implementation."""
    if impl == "keepalived":
        return lab.start_keepalived(node, conf)
    if impl == "vrrptui":
        return lab.start_vrrptui(node, conf)
    raise ValueError(f"unknown implementation {impl!r}; pick one of {IMPLS}")


def vrrptui_available() -> bool:
    return importlib.util.find_spec("vrrptui.daemon.headless") is not None


# --- drills ---------------------------------------------------------------------------------


@dataclass
class DrillResult:
    impl: str
    drill: str
    timing: str
    theory: float
    takeover: list[float] = field(default_factory=list)
    outage: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)


class Pair:
    """r1 master, r2 backup, same implementation, in one lab; knows how to return to that state."""

    def __init__(self, lab: Lab, impl: str, timing: Timing):
        self.lab, self.impl, self.timing = lab, impl, timing
        self.procs: dict[str, subprocess.Popen[Any]] = {}
        self.settle = master_down_interval(timing.version, BACKUP_PRIORITY, timing.interval) * 2 + 5

    def start(self, node: str) -> None:
        priority = MASTER_PRIORITY if node == MASTER else BACKUP_PRIORITY
        self.procs[node] = start_peer(self.lab, self.impl, node, config(node, priority, self.timing))

    def steady(self) -> None:
        """Wait until r1 alone holds the VIP, then a few intervals so r2 is a settled backup."""
        if not self.lab.wait_for(lambda: self.lab.vip_holders(VIP) == [MASTER], self.settle, 0.02):
            raise RuntimeError(f"{self.impl} {self.timing.label}: r1 never became the only VIP holder "
                               f"(holders {self.lab.vip_holders(VIP)})\n{self.lab.log(self.procs[MASTER])[-1500:]}")
        time.sleep(3 * self.timing.interval + 0.2)


def takeover(adverts: list[SeenAdvert], old: str, new: str, event: float) -> float | None:
    """Last advert from OLD at or before the new master's first advert -> that first advert."""
    firsts = [a for a in adverts if a.src == new and a.priority > 0 and a.time >= event - 0.001]
    if not firsts:
        return None
    first_new = firsts[0]
    olds = [a for a in adverts if a.src == old and a.time <= first_new.time]
    if not olds:
        return None
    return first_new.time - olds[-1].time


def run_drills(impl: str, timing: Timing, reps: int) -> list[DrillResult]:
    mdi = master_down_interval(timing.version, BACKUP_PRIORITY, timing.interval)
    skew = skew_time(timing.version, BACKUP_PRIORITY, timing.interval)
    cable = DrillResult(impl, "cable pull", timing.label, mdi)
    graceful = DrillResult(impl, "graceful", timing.label, skew)
    with Lab(routers=(MASTER, BACKUP)) as lab:
        pair = Pair(lab, impl, timing)
        ip1, ip2 = lab.ip4(MASTER), lab.ip4(BACKUP)
        pair.start(MASTER)
        lab.wait_for(lambda: lab.has_vip(MASTER, VIP), pair.settle, 0.02)
        pair.start(BACKUP)
        pair.steady()
        pinger = lab.pinger("pc1", VIP, interval=0.01, timeout=0.1)
        for rep in range(reps):
            for result in (cable, graceful):
                cap = lab.capture(bpf="vrrp")
                time.sleep(2 * timing.interval + 0.1)  # the old master's last adverts are in the capture
                event = time.time()
                if result is cable:
                    lab.cut(MASTER)
                else:
                    lab.stop(pair.procs[MASTER], signal.SIGTERM)
                ok = lab.wait_for(lambda: lab.has_vip(BACKUP, VIP), mdi * 3 + 3, 0.005)
                lab.wait_for(lambda event=event: len(pinger.reply_times()) and pinger.reply_times()[-1] > event
                             and pinger.replies_since(event) > 3, 3, 0.01)
                time.sleep(2 * timing.interval)
                cap.stop()
                latency = takeover(cap.adverts(), ip1, ip2, event) if ok else None
                if latency is None:
                    result.failures.append(f"rep {rep}: no takeover seen (VIP on r2: {ok})")
                else:
                    result.takeover.append(latency)
                    result.outage.append(pinger.outage(start=event - 1.0))
                # Back to r1 master, r2 backup.
                if result is cable:
                    lab.heal(MASTER)
                else:
                    pair.start(MASTER)
                pair.steady()
        pinger.stop()
    return [cable, graceful]


# --- load -----------------------------------------------------------------------------------


@dataclass
class LoadResult:
    impl: str
    instances: int
    timing: str
    seconds: float
    master_cpu_percent: float
    backup_cpu_percent: float
    master_rss_mb: float  # whole process tree (keepalived: parent + VRRP child)
    backup_rss_mb: float
    master_worker_rss_mb: float  # the largest single process: keepalived's VRRP child
    backup_worker_rss_mb: float
    master_processes: int
    backup_processes: int
    master_uss_mb: float  # memory private to the tree (psutil USS)
    backup_uss_mb: float
    adverts_per_s: dict[str, float]  # by source, from tcpdump on the bridge: proves the load is real


def _tree(pid: int) -> list[psutil.Process]:
    root = psutil.Process(pid)
    return [root, *root.children(recursive=True)]


def _cpu_seconds(procs: list[psutil.Process]) -> float:
    total = 0.0
    for p in procs:
        try:
            t = p.cpu_times()
            total += t.user + t.system
        except psutil.NoSuchProcess:
            pass
    return total


def _rss_mb(procs: list[psutil.Process]) -> tuple[float, float, float]:
    """(RSS summed over the tree, largest single RSS, USS summed over the tree) in MB."""
    sizes, uss = [], 0
    for p in procs:
        try:
            info = p.memory_full_info()
            sizes.append(info.rss)
            uss += info.uss
        except psutil.NoSuchProcess:
            pass
    return sum(sizes) / 1e6, max(sizes, default=0) / 1e6, uss / 1e6


def run_load(impl: str, instances: int, seconds: float) -> LoadResult:
    timing = Timing(3, 0.1)
    with Lab(routers=(MASTER, BACKUP), clients=()) as lab:
        master = start_peer(lab, impl, MASTER, config(MASTER, 200, timing, instances))
        backup = start_peer(lab, impl, BACKUP, config(BACKUP, 100, timing, instances))
        vips = {f"10.10.{vrid}.1" for vrid in range(1, instances + 1)}
        if not lab.wait_for(lambda: vips <= lab.addresses(MASTER) and not vips & lab.addresses(BACKUP), 30, 0.2):
            raise RuntimeError(f"{impl}: {instances} instances did not settle with r1 master\n"
                               f"{lab.log(master)[-1500:]}")
        time.sleep(6)  # past keepalived's second gratuitous-ARP burst (garp_master_delay 5 s)
        trees = {MASTER: _tree(master.pid), BACKUP: _tree(backup.pid)}
        start = {n: _cpu_seconds(t) for n, t in trees.items()}
        t0 = time.monotonic()
        rss_samples: dict[str, list[tuple[float, float, float]]] = {MASTER: [], BACKUP: []}
        while time.monotonic() - t0 < seconds:
            time.sleep(1)
            for n, t in trees.items():
                rss_samples[n].append(_rss_mb(t))
        wall = time.monotonic() - t0
        cpu = {n: (_cpu_seconds(t) - start[n]) / wall * 100 for n, t in trees.items()}
        if master.poll() is not None or backup.poll() is not None:
            raise RuntimeError(f"{impl}: a daemon died during the load run")
        rates = advert_rates(lab, window=2.0)
        expected = instances / timing.interval
        sent = rates.get(lab.ip4(MASTER), 0.0)
        if sent < 0.8 * expected:
            raise RuntimeError(f"{impl}: the master sent {sent:g} adverts/s on the wire, expected {expected:g}: "
                               f"figures would be meaningless\n{lab.log(master)[-1500:]}")
        return LoadResult(
            impl, instances, timing.label, round(wall, 1),
            round(cpu[MASTER], 2), round(cpu[BACKUP], 2),
            round(max(r[0] for r in rss_samples[MASTER]), 2), round(max(r[0] for r in rss_samples[BACKUP]), 2),
            round(max(r[1] for r in rss_samples[MASTER]), 2), round(max(r[1] for r in rss_samples[BACKUP]), 2),
            len(trees[MASTER]), len(trees[BACKUP]),
            round(max(r[2] for r in rss_samples[MASTER]), 2), round(max(r[2] for r in rss_samples[BACKUP]), 2),
            rates,
        )


def advert_rates(lab: Lab, window: float) -> dict[str, float]:
    """Adverts per second by source address seen on the bridge over WINDOW seconds."""
    cap = lab.capture(bpf="vrrp")
    time.sleep(window)
    cap.stop()
    counts: dict[str, int] = {}
    for line in cap.read():
        src = line.split(" > ", 1)[0].rsplit(" ", 1)[-1] if " > " in line else None
        if src:
            counts[src] = counts.get(src, 0) + 1
    return {src: round(n / window, 1) for src, n in sorted(counts.items())}


# --- report ---------------------------------------------------------------------------------


def _fmt(values: list[float]) -> str:
    if not values:
        return "-"
    med = statistics.median(values)
    if len(values) == 1:
        return f"{med:.3f}"
    return f"{med:.3f} ({min(values):.3f}-{max(values):.3f})"


def print_drills(results: list[DrillResult]) -> None:
    header = (f"{'drill':<11} {'timing':<8} {'impl':<11} {'theory s':>9}  {'takeover s (min-max)':<24} "
              f"{'vs theory ms':>12}  {'ping outage s (min-max)':<24} n")
    print(header)
    print("-" * len(header))
    for r in results:
        delta = f"{(statistics.median(r.takeover) - r.theory) * 1000:+.1f}" if r.takeover else "-"
        print(f"{r.drill:<11} {r.timing:<8} {r.impl:<11} {r.theory:>9.3f}  {_fmt(r.takeover):<24} "
              f"{delta:>12}  {_fmt(r.outage):<24} {len(r.takeover)}")
        for f in r.failures:
            print(f"    ! {f}")
    print("theory: cable pull = backup's Master_Down_Interval, graceful = its Skew_Time (priority 0 received).")


def print_load(results: list[LoadResult]) -> None:
    header = (f"{'load':<24} {'impl':<11} {'master CPU %':>12} {'backup CPU %':>12} "
              f"{'master RSS MB':>18} {'backup RSS MB':>18}  adverts/s on the wire")
    print(header)
    print("-" * len(header))
    for r in results:
        m_rss = f"{r.master_rss_mb:.1f} ({r.master_worker_rss_mb:.1f})"
        b_rss = f"{r.backup_rss_mb:.1f} ({r.backup_worker_rss_mb:.1f})"
        print(f"{f'{r.instances} x {r.timing}, {r.seconds:g}s':<24} {r.impl:<11} {r.master_cpu_percent:>12.2f} "
              f"{r.backup_cpu_percent:>12.2f} {m_rss:>18} {b_rss:>18}  "
              + ", ".join(f"{src} {rate:g}" for src, rate in r.adverts_per_s.items()))
    print("CPU % of one core and RSS of the whole process tree (largest single process in brackets).")


def keep_skipped_parts(report: dict[str, Any], output: Path, skipped: dict[str, bool]) -> None:
    """A part not run this time keeps the figures of the run that made it, with that run's date."""
    try:
        previous = json.loads(output.read_text())
    except (OSError, ValueError):
        return
    for part, was_skipped in skipped.items():
        report[f"{part}_when"] = report["when"]
        if was_skipped and previous.get(part):
            report[part] = previous[part]
            report[f"{part}_when"] = previous.get(f"{part}_when", previous.get("when"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--impl", default=None,
                        help="comma-separated implementations "
                             "(default: keepalived, plus vrrptui once its headless daemon exists)")
    parser.add_argument("--quick", action="store_true", help="one repetition per drill, 8 s load window")
    parser.add_argument("--reps", type=int, default=None, help="repetitions per drill (default 3, --quick 1)")
    parser.add_argument("--instances", type=int, default=255)
    parser.add_argument("--load-seconds", type=float, default=None, help="load window (default 20 s, --quick 8 s)")
    parser.add_argument("--skip-drills", action="store_true")
    parser.add_argument("--skip-load", action="store_true")
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    if os.geteuid() != 0:
        print("failover.py: needs root (network namespaces); run `sudo make bench`", file=sys.stderr)
        return 1
    impls = args.impl.split(",") if args.impl else ["keepalived"] + (["vrrptui"] if vrrptui_available() else [])
    for impl in impls:
        if impl not in IMPLS:
            print(f"failover.py: unknown --impl {impl!r}; choose from {', '.join(IMPLS)}", file=sys.stderr)
            return 2
    reps = args.reps or (1 if args.quick else 3)
    load_seconds = args.load_seconds or (8.0 if args.quick else 20.0)
    started = time.time()
    drills: list[DrillResult] = []
    loads: list[LoadResult] = []
    errors: list[str] = []
    if not args.skip_drills:
        for timing in TIMINGS:
            for impl in impls:
                print(f"drills: {impl} {timing.label} x{reps} ...", file=sys.stderr, flush=True)
                try:
                    drills += run_drills(impl, timing, reps)
                except Exception as exc:  # one broken implementation must not hide the other's figures
                    errors.append(f"drills {impl} {timing.label}: {exc}")
        print()
        print_drills(drills)
    if not args.skip_load:
        for impl in impls:
            print(f"load: {impl} {args.instances} instances for {load_seconds:g} s ...", file=sys.stderr, flush=True)
            try:
                loads.append(run_load(impl, args.instances, load_seconds))
            except Exception as exc:
                errors.append(f"load {impl}: {exc}")
        print()
        print_load(loads)
    for e in errors:
        print(f"ERROR {e}", file=sys.stderr)
    report = {
        "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "host": {"kernel": platform.release(), "cpus": os.cpu_count(), "python": platform.python_version()},
        "keepalived": subprocess.run(["keepalived", "--version"], capture_output=True, text=True).stderr.splitlines()[
            :1
        ],
        "reps": reps,
        "drills": [asdict(d) for d in drills],
        "load": [asdict(x) for x in loads],
        "errors": errors,
        "duration_s": round(time.time() - started, 1),
    }
    keep_skipped_parts(report, args.output, skipped={"drills": args.skip_drills, "load": args.skip_load})
    args.output.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nwrote {args.output} ({report['duration_s']} s)")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
