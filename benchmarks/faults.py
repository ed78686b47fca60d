"""Fault benchmark in the namespace lab (`make faults`, `make faults-quick`; not part of the tests).

Each case runs with keepalived 2.2.7 and with vrrptui on both routers (r1 priority 150, master;
r2 priority 100), VRRPv3 at 0.1 s, pc1 pinging the VIP every 10 ms. `ip -ts monitor address`
in each router times when the VIP came and went (microseconds); tcpdump on the bridge is the
wire's witness. Faults are injected by vrrptui.lab.faults (ip, nftables).

  vip-deleted      `ip addr del VIP` on the master: longest time nobody held the VIP
  primary-deleted  the master's own address deleted (the kernel flushes the VIP): nobody-holds time;
                   on the wire, r2's first advert after r1's priority-0 one (Skew_Time 60.9 ms + latency)
  iface-recreated  the master's interface deleted and re-created: nobody-holds (and from r1's last advert
                   to r2 adding the VIP, Master_Down_Interval 360.9 ms + latency), two holders, r1 back
  vmac-deleted     use_vmac on r1, its vrrp.51 deleted by hand: nobody-holds, two holders
  v6-vip-deleted   the same with an IPv6 VIP
  v6-link-local-deleted  IPv6 instance, the master's link-local address deleted, added back 1.5 s later
  link-down-up     cable pull on the master then back: nobody-holds time
                   (these two cannot resign: r2 takes over Master_Down_Interval, 360.9 ms, after r1's
                   last advert, so nobody-holds is that minus the advert's age at the fault; on the
                   wire, r2's first advert after r1's last one, which does not depend on it)
  partition-heal   r1 and r2 cut apart 5 s (both master), then healed: pings lost after the heal
  kill-restart     kill -9 of the master, restart 3 s later: stale VIP removed, master again,
                   two holders, nobody-holds at the hand-back
  takeover-garp    graceful stop of the master: the new master's first GARP minus its first advert
  loss-50          50 % of VRRP into the backup dropped for 180 s: false takeovers (model N(1-p)p^3)

Every fault is injected FAULT_PHASE (20 ms) after one of r1's adverts, so that the advert's age at the
fault (each case's advert_age_ms) is the same for both implementations: at random times it would add
0-100 ms of noise to every case where r2 has to wait for Master_Down_Interval.

Prints a table (median over the runs, and the worst) and writes benchmarks/faults-results.json
(a partial run, `python benchmarks/faults.py --case link-down-up --runs 5`, only with --merge).
"""

from __future__ import annotations

import argparse
import compileall
import json
import math
import os
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil

import vrrptui
from vrrptui.lab import faults
from vrrptui.lab.faults import AddressWatch
from vrrptui.lab.namespaces import service_command
from vrrptui.lab.netns import VIP, Lab, fast_v3_conf, kill_tree

IMPLS = ("keepalived", "vrrptui")
RESULTS = Path(__file__).with_name("faults-results.json")
ADVERT_INT = 0.1
FAULT_PHASE = 0.02  # each fault is injected this long after one of r1's adverts (Run.sync_to_advert)
PING_INTERVAL = 0.01
WAIT = 10.0
VIP6 = "2001:db8:1::100"

Figures = dict[str, float]


def fault_time(last_advert: float, now: float, lead: float = 0.01) -> float:
    """FAULT_PHASE after one of r1's adverts (every ADVERT_INT from LAST_ADVERT), the first at least LEAD
    after NOW."""
    periods = max(0, math.ceil((now + lead - last_advert - FAULT_PHASE) / ADVERT_INT))
    return last_advert + periods * ADVERT_INT + FAULT_PHASE


class Run:
    """One lab with r1 (150) master and r2 (100) backup of one implementation, a pinger and monitors."""

    def __init__(self, impl: str, *, r1_extra: str = "", family: int = 4) -> None:
        self.impl, self.family = impl, family
        self.vip = VIP if family == 4 else VIP6
        self.lab = Lab(routers=("r1", "r2"), clients=("pc1",))
        self.watch = AddressWatch(self.lab)
        self.wire = self.lab.capture(bpf="ip proto 112 or ip6 proto 112")
        self.sources = [self.lab.ip4(n) if family == 4 else self.lab.link_local(n) for n in ("r1", "r2")]
        self.r1 = self.start("r1", 150, r1_extra)
        self.lab.wait_for(lambda: self.lab.vip_holders(self.vip) == ["r1"], WAIT)
        self.r2 = self.start("r2", 100)
        time.sleep(1.0)  # r2 settles as backup
        self.ping = self.lab.pinger("pc1", self.vip, PING_INTERVAL)
        self.lab.wait_for(lambda: self.ping.replies_since(0) > 5, WAIT)

    def start(self, node: str, priority: int, extra: str = "", tag: str | None = None) -> subprocess.Popen[Any]:
        conf = fast_v3_conf(priority, extra=extra)
        if self.family == 6:
            conf = conf.replace(f"{VIP}/24", f"{VIP6}/64")
        if self.impl == "keepalived":
            return self.lab.start_keepalived(node, conf, tag=tag or "keepalived")
        return self.lab.start_vrrptui(node, conf, tag=tag or "vrrptui")

    def sync_to_advert(self) -> None:
        """Sleep until FAULT_PHASE after one of r1's adverts (the next ones predicted from its last on the wire).

        A fault that r1 cannot resign for (its link gone) leaves r2 to wait Master_Down_Interval from r1's
        last advert, so nobody-holds is that minus the advert's age at the fault: with faults at random
        times, 0-100 ms of noise between runs and implementations. At a fixed phase both meet the same age.
        """
        last = self.last_r1_advert(time.time())
        assert last is not None, "r1 sends no adverts"
        time.sleep(max(0.0, fault_time(last, time.time()) - time.time()))

    def last_r1_advert(self, before: float) -> float | None:
        """When r1's last advert before BEFORE was on the wire."""
        return max((a.time for a in self.wire.adverts() if a.src == self.sources[0] and a.time < before), default=None)

    def advert_age_ms(self, at: float) -> float:
        """ms from r1's last advert on the wire before AT to AT."""
        last = self.last_r1_advert(at)
        return 1000 * (at - last) if last is not None else float("nan")

    def nobody(self, after: float, until: float) -> float:
        return self.watch.nobody(self.vip, after, until)

    def both(self, after: float, until: float) -> float:
        return self.watch.both(self.vip, after, until)

    def takeover_on_wire(self, after: float) -> float:
        """ms from r1's last advert (its priority 0 if it sent one) to r2's first after `after`, as tcpdump saw them."""
        adverts = self.wire.adverts()
        r1, r2 = self.sources
        first = next((a.time for a in adverts if a.time > after and a.src == r2), None)
        last = max((a.time for a in adverts if a.src == r1 and first and a.time < first), default=None)
        return 1000 * (first - last) if first is not None and last is not None and last > after - 0.2 else float("nan")

    def vip_after_last_advert(self, after: float) -> float:
        """ms from r1's last advert on the wire before `after` to r2 adding the VIP: nobody-holds without the
        0-100 ms the advert's age at the fault adds (no resign possible)."""
        last = self.last_r1_advert(after)
        added = self.watch.first(self.vip, "r2", True, after)
        return 1000 * (added - last) if last is not None and added is not None else float("nan")

    def close(self) -> None:
        self.lab.down()


def case_vip_deleted(run: Run) -> Figures:
    t0 = time.time()
    faults.delete_vip(run.lab, "r1", f"{VIP}/24" if run.family == 4 else f"{VIP6}/64")
    time.sleep(2.0)
    return {"nobody_ms": 1000 * run.nobody(t0, time.time()), "holders_at_end": len(run.lab.vip_holders(run.vip))}


def case_primary_deleted(run: Run) -> Figures:
    t0 = time.time()
    faults.delete_primary(run.lab, "r1")
    time.sleep(1.5)
    t1 = time.time()
    faults.restore_primary(run.lab, "r1")
    time.sleep(2.0)
    back = run.watch.first(VIP, "r1", True, t1)
    return {"nobody_ms": 1000 * run.nobody(t0, time.time()), "wire_takeover_ms": run.takeover_on_wire(t0),
            "r1_master_again_s": (back - t1) if back else float("nan"),
            "holders_at_end": len(run.lab.vip_holders(VIP))}


def case_iface_recreated(run: Run) -> Figures:
    t0 = time.time()
    faults.delete_interface(run.lab, "r1")
    time.sleep(1.0)
    t1 = time.time()
    faults.create_interface(run.lab, "r1")
    time.sleep(3.0)
    back = run.watch.first(VIP, "r1", True, t1)
    end = time.time()
    return {"nobody_ms": 1000 * run.nobody(t0, end), "wire_takeover_ms": run.takeover_on_wire(t0),
            "r2_vip_after_last_ms": run.vip_after_last_advert(t0),
            "two_holders_ms": 1000 * run.both(t1, end),
            "r1_master_again_s": (back - t1) if back else float("nan"),
            "holders_at_end": len(run.lab.vip_holders(VIP))}


def case_vmac_deleted(run: Run) -> Figures:
    t0 = time.time()
    run.lab.exec("r1", ["ip", "link", "del", "vrrp.51"], check=True)
    time.sleep(2.0)
    end = time.time()
    return {"nobody_ms": 1000 * run.nobody(t0, end), "two_holders_ms": 1000 * run.both(t0, end),
            "holders_at_end": len(run.lab.vip_holders(VIP))}


def case_v6_link_local_deleted(run: Run) -> Figures:
    link_local = run.lab.link_local("r1")
    t0 = time.time()
    run.lab.exec("r1", ["ip", "addr", "del", f"{link_local}/64", "dev", "eth0"], check=True)
    time.sleep(1.5)
    t1 = time.time()
    run.lab.exec("r1", ["ip", "addr", "add", f"{link_local}/64", "dev", "eth0"], check=True)
    time.sleep(2.0)
    back = run.watch.first(run.vip, "r1", True, t1)
    return {"nobody_ms": 1000 * run.nobody(t0, time.time()), "wire_takeover_ms": run.takeover_on_wire(t0),
            "r1_master_again_s": (back - t1) if back else float("nan"),
            "holders_at_end": len(run.lab.vip_holders(run.vip))}


def case_link_down_up(run: Run) -> Figures:
    t0 = time.time()
    run.lab.cut("r1")
    time.sleep(1.0)
    run.lab.heal("r1")
    time.sleep(2.0)
    end = time.time()
    return {"nobody_ms": 1000 * run.nobody(t0, end), "wire_takeover_ms": run.takeover_on_wire(t0),
            "ping_gap_ms": 1000 * run.ping.outage(t0, end),
            "holders_at_end": len(run.lab.vip_holders(VIP))}


def case_partition_heal(run: Run) -> Figures:
    faults.partition(run.lab, "r1", "r2")
    time.sleep(5.0)
    t1 = time.time()
    faults.heal_partition(run.lab)
    time.sleep(5.0)
    end = time.time()
    return {"ping_gap_after_heal_ms": 1000 * run.ping.outage(t1, end), "pings_lost": lost(run, t1, end),
            "holders_at_end": len(run.lab.vip_holders(VIP))}


def lost(run: Run, start: float, end: float) -> int:
    """Echo requests without a reply between START and END: the icmp_seq numbers missing among the replies
    (ping's real interval is 10-20 ms under load, so a time gap alone overcounts)."""
    seqs = sorted({seq for t, seq in list(run.ping.replies) if start - 0.1 <= t <= end})
    return (seqs[-1] - seqs[0] + 1 - len(seqs)) if seqs else -1


def case_kill_restart(run: Run) -> Figures:
    t0 = time.time()
    kill_tree(run.r1)
    time.sleep(max(0.0, t0 + 3.0 - time.time()))  # 3 s after the kill, however long the killed tree took to go
    t1 = time.time()
    run.r1 = run.start("r1", 150)  # same config file: keepalived and vrrptui find what the killed run left
    time.sleep(3.0)
    end = time.time()
    removed = run.watch.first(VIP, "r1", False, t1)
    back = run.watch.first(VIP, "r1", True, t1)
    return {"stale_removed_s": (removed - t1) if removed else float("nan"),
            "master_again_s": (back - t1) if back else float("nan"),
            # r2 takes the VIP after Master_Down_Interval, then both hold it until the restart removes r1's:
            # two_holders_s is 3 s less r2's takeover plus the removal
            "r2_takeover_ms": run.vip_after_last_advert(t0),
            "two_holders_s": run.both(t0, end), "nobody_at_handback_ms": 1000 * run.nobody(t1, end),
            "holders_at_end": len(run.lab.vip_holders(VIP))}


def case_kill_alone(run: Run) -> Figures:
    """kill -9 of the process that runs VRRP on the master, alone, as the OOM killer picks one: keepalived's
    VRRP child (its parent respawns it), vrrptui's daemon (its guardian resigns for it; nothing restarts it
    here, systemd's Restart= would)."""
    daemon = psutil.Process(run.r1.pid)
    target = daemon.children()[0] if run.impl == "keepalived" else daemon  # keepalived --vrrp: one child
    t0 = time.time()
    target.send_signal(signal.SIGKILL)
    time.sleep(3.0)
    end = time.time()
    return {"nobody_ms": 1000 * run.nobody(t0, end), "two_holders_ms": 1000 * run.both(t0, end),
            "wire_takeover_ms": run.takeover_on_wire(t0), "ping_gap_ms": 1000 * run.ping.outage(t0, end),
            "holders_at_end": len(run.lab.vip_holders(VIP))}


def case_takeover_garp(run: Run) -> Figures:
    cap = run.lab.capture(bpf="vrrp or arp")
    r2_mac = run.lab.mac("r2")
    t0 = time.time()
    run.lab.stop(run.r1, signal.SIGTERM)
    time.sleep(1.5)
    advert = garp = None
    for line in cap.read(["-e"]):
        stamp = float(line.split()[0])
        if stamp < t0 or line.split()[1] != r2_mac:
            continue
        if advert is None and "VRRP" in line and "prio 100" in line:
            advert = stamp
        if garp is None and f"who-has {VIP}" in line and f"tell {VIP}" in line:
            garp = stamp
    return {"garp_minus_advert_ms": 1000 * (garp - advert) if garp and advert else float("nan"),
            "nobody_ms": 1000 * run.nobody(t0, time.time())}


def loss_case(seconds: float) -> Callable[[Run], Figures]:
    def case_loss(run: Run) -> Figures:
        faults.drop_vrrp(run.lab, "r2", 0.5)
        t0 = time.time()
        time.sleep(seconds)
        end = time.time()
        faults.clear_loss(run.lab, "r2")
        takeovers = sum(1 for t, node, added in run.watch.events(VIP) if node == "r2" and added and t0 <= t <= end)
        adverts = seconds / ADVERT_INT
        return {"false_takeovers": takeovers, "model": adverts * 0.5 * 0.5 ** 3,
                "holders_at_end": len(run.lab.vip_holders(VIP))}
    return case_loss


def run_case(impl: str, case: Callable[[Run], Figures], reps: int, *, sync: bool = True, **kw: Any) -> list[Figures]:
    """REPS runs of CASE; with SYNC each fault FAULT_PHASE after one of r1's adverts, else at any time."""
    out = []
    for _ in range(reps):
        run = Run(impl, **kw)
        try:
            if sync:
                run.sync_to_advert()
            fault = time.time()
            figures = case(run)
            figures["advert_age_ms"] = run.advert_age_ms(fault)
            out.append(figures)
        finally:
            run.close()
    return out


def summary(values: list[float]) -> str:
    values = [v for v in values if v == v]  # drop NaN (not measured)
    if not values:
        return "-"
    med, worst = statistics.median(values), max(values)
    fmt = (lambda v: f"{v:.0f}") if worst >= 100 else (lambda v: f"{v:.3g}")  # 0.0138 s, 0.357 s, 2.68 s
    return fmt(med) if len(values) == 1 or med == worst else f"{fmt(med)} (max {fmt(worst)})"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="one run per case, 20 s of loss")
    ap.add_argument("--case", action="append", metavar="NAME",
                    help="run only this case (repeatable), e.g. --case kill-restart")
    ap.add_argument("--impl", choices=IMPLS, action="append", help="only this implementation (repeatable)")
    ap.add_argument("--runs", type=int, help="runs per case (default 3, --quick 1)")
    ap.add_argument("--merge", action="store_true",
                    help="with --case: write these cases' figures into the results file (both implementations)")
    ap.add_argument("--vrrptui-command", metavar="PATH",
                    help="the vrrptui command to run, e.g. one `pip install .` put in a plain venv, as a user has it "
                         "(default: this venv's; sets VRRPTUI_COMMAND for vrrptui.lab)")
    ap.add_argument("--typed", action="store_true",
                    help="start vrrptui as an operator types it (the command, site first) instead of as the systemd "
                         "unit does (PYTHON -S vrrptui); sets VRRPTUI_LAB_TYPED for vrrptui.lab")
    args = ap.parse_args(argv)
    if args.typed:
        os.environ["VRRPTUI_LAB_TYPED"] = "1"
    if args.vrrptui_command:
        os.environ["VRRPTUI_COMMAND"] = os.path.abspath(args.vrrptui_command)
    # The daemon as installed: `pip install .` compiles its bytecode. Without this, a tree imported only
    # with PYTHONDONTWRITEBYTECODE set compiles every changed module at each start (~1-2 ms each), which
    # the kill-restart row would count.
    compileall.compile_dir(str(Path(vrrptui.__file__).parent), quiet=1)
    reps = args.runs or (1 if args.quick else 3)
    cases: list[tuple[str, Callable[[Run], Figures], int, dict[str, Any]]] = [
        ("vip-deleted", case_vip_deleted, reps, {}),
        ("primary-deleted", case_primary_deleted, reps, {}),
        ("iface-recreated", case_iface_recreated, reps, {}),
        ("vmac-deleted", case_vmac_deleted, reps, {"r1_extra": "use_vmac"}),
        ("v6-vip-deleted", case_vip_deleted, reps, {"family": 6}),
        ("v6-link-local-deleted", case_v6_link_local_deleted, reps, {"family": 6}),
        ("link-down-up", case_link_down_up, reps, {}),
        # at any phase: where the heal falls among both masters' adverts decides who hears whom first, and with
        # keepalived's defaults whether the clients are told (README, Reliability)
        ("partition-heal", case_partition_heal, args.runs or (1 if args.quick else 4),
         {"r1_extra": "garp_master_delay 0", "sync": False}),
        ("kill-restart", case_kill_restart, reps, {}),
        ("kill-alone", case_kill_alone, reps, {}),
        ("takeover-garp", case_takeover_garp, reps, {}),
        ("loss-50", loss_case(20.0 if args.quick else 180.0), 1, {}),  # a count of ~110: +-10 % run to run
    ]
    if args.case:
        unknown = set(args.case) - {name for name, *_ in cases}
        if unknown:
            ap.error(f"unknown case {', '.join(sorted(unknown))}; cases: {', '.join(name for name, *_ in cases)}")
        cases = [c for c in cases if c[0] in args.case]
    impls = tuple(args.impl or IMPLS)
    results: dict[str, dict[str, list[Figures]]] = {}
    for name, case, n, kw in cases:
        results[name] = {}
        for impl in impls:
            print(f"{name}: {impl} ({n} run{'s' if n > 1 else ''})", file=sys.stderr, flush=True)
            results[name][impl] = run_case(impl, case, n, **kw)
    print(f"vrrptui: {' '.join(service_command())}")
    print(f"{'case':<16} {'figure':<24}" + "".join(f" {impl:>18}" for impl in impls))
    for name, by_impl in results.items():
        for key in by_impl[impls[0]][0]:
            cells = [summary([r[key] for r in by_impl[impl]]) for impl in impls]
            print(f"{name:<16} {key:<24}" + "".join(f" {cell:>18}" for cell in cells))
    if args.impl or args.typed or (args.case and not args.merge):
        return 0  # a partial run leaves the full results file alone
    if args.case:  # --merge: these cases' figures replace theirs in the results file
        results = {**json.loads(RESULTS.read_text())["results"], **results}
    # which install was measured, without this machine's paths (the file is committed)
    measured = "another install (--vrrptui-command)" if args.vrrptui_command else "this checkout's venv"
    RESULTS.write_text(json.dumps({"quick": args.quick, "vrrptui": measured, "results": results}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
