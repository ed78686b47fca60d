"""Idle console cost (part of benchmarks/console.py): 3 instances at 1 s, nothing happening.

r1 runs the masters (the generator), r2 the console as backup of the same 3 VRIDs, r3
keepalived as another backup of them, for scale. CPU % of one core over the window for the
console's UI process, its engine worker process, and keepalived's processes; RSS of each.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from console_lab import CONSOLE_PRIORITY, GEN_PRIORITY, Driver, _rss_mb, _thread_times
from failover import Timing, _cpu_seconds, _tree, config, start_peer

from vrrptui.lab.netns import Lab

IDLE_INSTANCES = 3
IDLE_TIMING = Timing(2, 1.0)
KEEPALIVED_PRIORITY = 50


@dataclass
class IdleResult:
    window_s: float
    ui_cpu_percent: float
    worker_cpu_percent: float
    ui_rss_mb: float
    worker_rss_mb: float
    keepalived_backup_cpu_percent: float
    keepalived_backup_rss_mb: float
    thread_cpu_percent: dict[str, float]  # the UI process's threads (UI loop, engine relay, prober...)


def run_idle(window: float, gen_impl: str) -> IdleResult:
    with Lab(routers=("r1", "r2", "r3"), clients=()) as lab:
        start_peer(lab, gen_impl, "r1", config("r1", GEN_PRIORITY, IDLE_TIMING, IDLE_INSTANCES))
        keepalived = lab.start_keepalived("r3", config("r3", KEEPALIVED_PRIORITY, IDLE_TIMING, IDLE_INSTANCES))
        conf = lab.node_dir("r2") / "console.conf"
        conf.write_text(config("r2", CONSOLE_PRIORITY, IDLE_TIMING, IDLE_INSTANCES))
        drv = Driver(lab, "r2", "console", str(conf))
        try:
            if not lab.wait_for(lambda: drv.ask("states").get("BACKUP") == IDLE_INSTANCES, 30, 0.5):
                raise RuntimeError(f"console: not {IDLE_INSTANCES} backups after 30 s: {drv.ask('states')}")
            time.sleep(5)  # past start-up: first refreshes, the prober's first round, gc.freeze at 3 s
            workers = drv.process.children(recursive=True)
            kept = _tree(keepalived.pid)
            names = {int(k): v for k, v in drv.ask("threads").items()}
            threads0 = _thread_times(drv.process)
            ui0, worker0, kept0 = _cpu_seconds([drv.process]), _cpu_seconds(workers), _cpu_seconds(kept)
            t0 = time.monotonic()
            time.sleep(window)
            wall = time.monotonic() - t0
            threads: dict[str, float] = {}
            for tid, secs in _thread_times(drv.process).items():
                name = names.get(tid, "other")
                threads[name] = round(threads.get(name, 0.0) + (secs - threads0.get(tid, 0.0)) / wall * 100, 2)
            return IdleResult(
                window_s=round(wall, 1),
                ui_cpu_percent=round((_cpu_seconds([drv.process]) - ui0) / wall * 100, 2),
                worker_cpu_percent=round((_cpu_seconds(workers) - worker0) / wall * 100, 2),
                ui_rss_mb=_rss_mb(drv.process),
                worker_rss_mb=round(sum(_rss_mb(w) for w in workers), 2),
                keepalived_backup_cpu_percent=round((_cpu_seconds(kept) - kept0) / wall * 100, 2),
                keepalived_backup_rss_mb=round(sum(_rss_mb(p) for p in kept), 2),
                thread_cpu_percent=threads,
            )
        finally:
            drv.quit()


def print_idle(r: IdleResult) -> None:
    print(f"idle, {IDLE_INSTANCES} instances {IDLE_TIMING.label} backups, {r.window_s:g} s: "
          f"console UI {r.ui_cpu_percent:.2f}% of a core (RSS {r.ui_rss_mb:.0f} MB), engine worker "
          f"{r.worker_cpu_percent:.2f}% ({r.worker_rss_mb:.0f} MB); keepalived backup "
          f"{r.keepalived_backup_cpu_percent:.2f}% ({r.keepalived_backup_rss_mb:.0f} MB)")
    print("  UI process by thread: " + ", ".join(f"{k} {v:.2f}%" for k, v in sorted(r.thread_cpu_percent.items())))
