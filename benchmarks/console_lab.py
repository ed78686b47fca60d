"""Lab side of the console benchmark (benchmarks/console.py): builds the namespace lab and the
generator, starts the console driver (console_driver.py) in a node, measures the load segments and
the takeovers."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil
from console_driver import WindowCounter
from failover import Timing, _cpu_seconds, _tree, config, instance_block, start_peer, takeover

from vrrptui.lab.netns import Lab
from vrrptui.protocol.timers import master_down_interval

V3 = Timing(3, 0.1)
INSTANCES = 255
GEN_PRIORITY, CONSOLE_PRIORITY = 200, 100
GAP = 0.16  # generator silence around a window boundary; + one interval stays under Master_Down_Interval (0.361 s)
DRILL_VRID = 51
VIP = "192.168.1.100"
DRIVER_SCRIPT = Path(__file__).resolve().with_name("console.py")


class Driver:
    """The console in a lab node, under run_test, answering one JSON line per command."""

    def __init__(self, lab: Lab, node: str, mode: str, target: str, timeout: float = 60.0) -> None:
        self.lab = lab
        drills = lab.node_dir(node) / "drills.jsonl"
        self.stderr_path = lab.node_dir(node) / f"driver-{mode}.stderr"
        err = open(self.stderr_path, "w")
        self.proc = lab.popen(node, [sys.executable, str(DRIVER_SCRIPT), "driver", mode, target,
                                     str(drills)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err, text=True, bufsize=1)
        err.close()
        ready = self.read()
        if not ready.get("ready"):
            raise RuntimeError(f"console driver did not start: {ready}")
        self.pid = int(ready["pid"])
        self.process = psutil.Process(self.pid)

    def read(self) -> Any:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            self.proc.wait(10)
            raise RuntimeError(f"console driver exited {self.proc.returncode}: {self.stderr()[-3000:]}")
        return json.loads(line)

    def stderr(self) -> str:
        try:
            return self.stderr_path.read_text(errors="replace")
        except OSError:
            return ""

    def ask(self, command: str) -> Any:
        assert self.proc.stdin is not None
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()
        return self.read()

    def quit(self) -> None:
        if self.proc.poll() is None:
            try:
                self.ask("quit")
                self.proc.wait(15)
            except Exception:
                self.lab.stop(self.proc)


def _rss_mb(p: psutil.Process) -> float:
    return round(p.memory_info().rss / 1e6, 2)


def _thread_times(p: psutil.Process) -> dict[int, float]:
    return {t.id: t.user_time + t.system_time for t in p.threads()}


def _suspend(procs: list[psutil.Process], on: bool) -> None:
    for p in procs:
        try:
            p.suspend() if on else p.resume()
        except psutil.NoSuchProcess:
            pass


def _sleep_until(t: float) -> None:
    delay = t - time.monotonic()
    if delay > 0:
        time.sleep(delay)


def silence_at(gen: list[psutil.Process], mark: float) -> float:
    """Stop the generator from mark - GAP/2 to mark + GAP/2; returns the longest stop really made."""
    _sleep_until(mark - GAP / 2)
    t0 = time.monotonic()
    _suspend(gen, True)
    _sleep_until(mark + GAP / 2)
    _suspend(gen, False)
    return time.monotonic() - t0


def tcpdump_window(pcap: Path, src: str, start_wall: float, end_wall: float) -> tuple[int, int]:
    """(adverts from SRC inside [start, end], adverts from SRC within 0.05 s of either boundary)."""
    proc = subprocess.Popen(["tcpdump", "-n", "-tt", "-r", str(pcap), f"src host {src} and ip proto 112"],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    inside = near = 0
    assert proc.stdout is not None
    for line in proc.stdout:
        try:
            t = float(line.split(" ", 1)[0])
        except ValueError:
            continue
        if start_wall <= t <= end_wall:
            inside += 1
        if abs(t - start_wall) < 0.05 or abs(t - end_wall) < 0.05:
            near += 1
    proc.wait()
    return inside, near


def raw_drops(lab: Lab, node: str) -> int:
    """Packets the kernel dropped on the node's raw sockets (/proc/net/raw, last column)."""
    out = lab.exec(node, ["cat", "/proc/net/raw", "/proc/net/raw6"]).stdout
    total = 0
    for line in out.splitlines():
        parts = line.split()
        if parts and parts[0].rstrip(":").isdigit():
            total += int(parts[-1])
    return total


@dataclass
class SegmentResult:
    mode: str  # "console (255 backups)" or "sniff"
    generator: str
    window_s: float
    gen_rate_per_s: float  # tcpdump count / window
    console_count: int | None  # peer model, inside the window (None: the window could not be bounded)
    console_hook_count: int | None  # the same packets counted as they reached the model (cross-check)
    tcpdump_count: int
    difference: int | None  # console - tcpdump
    tcpdump_near_boundaries: int  # should be 0: the silences really bound the window
    tcpdump_kernel_drops: str
    raw_socket_drops: int
    inbox_dropped: int
    latency: list[dict[str, Any]]
    cpu_percent: float
    thread_cpu_percent: dict[str, float]
    rss_mb: dict[str, float]  # start, middle, end, max
    rss_growth_mb: float
    worker_cpu_percent: float
    worker_rss_mb: float
    frames_per_s: float
    longest_stop_s: float
    ui_bursts: dict[str, Any]  # UI-thread callbacks over 5 ms: the engine thread waits for the GIL meanwhile
    notes: list[str] = field(default_factory=list)


def run_segment(mode: str, window: float, presses: int, gen_impl: str) -> SegmentResult:
    notes: list[str] = []
    with Lab(routers=("r1", "r2"), clients=()) as lab:
        gen_proc = start_peer(lab, gen_impl, "r1", config("r1", GEN_PRIORITY, V3, INSTANCES))
        vips = {f"10.10.{vrid}.1" for vrid in range(1, INSTANCES + 1)}
        if not lab.wait_for(lambda: vips <= lab.addresses("r1"), 30, 0.2):
            raise RuntimeError(f"{gen_impl} generator: not master of {INSTANCES} VRIDs after 30 s\n"
                               f"{lab.log(gen_proc)[-1500:]}")
        gen = _tree(gen_proc.pid)
        src = lab.ip4("r1")
        cap = lab.capture("r2", bpf="vrrp", name="segment")
        if mode == "console":
            conf = lab.node_dir("r2") / "console.conf"
            conf.write_text(config("r2", CONSOLE_PRIORITY, V3, INSTANCES))
            drv = Driver(lab, "r2", "console", str(conf))
            if not lab.wait_for(lambda: drv.ask("states").get("BACKUP") == INSTANCES, 30, 0.5):
                raise RuntimeError(f"console: not {INSTANCES} backups after 30 s: {drv.ask('states')}")
        else:
            drv = Driver(lab, "r2", "sniff", lab.iface("r2"))
            if not lab.wait_for(lambda: drv.ask("peers").get(src) == INSTANCES, 30, 0.5):
                raise RuntimeError(f"sniff: did not hear {INSTANCES} VRIDs from {src}: {drv.ask('peers')}")
        try:
            names = {int(k): v for k, v in drv.ask("threads").items()}
            drv.ask(f"source {src}")
            time.sleep(3)  # past start-up: the first refreshes, the prober's first round
            # wall clock minus monotonic at each boundary: tcpdump stamps packets with the wall clock, which
            # NTP may slew (5 ms/s seen: 150 ms over a 30 s window, a whole round of adverts at a boundary)
            offsets = [time.time() - time.monotonic()]
            rss = {"start": _rss_mb(drv.process)}
            rss_samples = [rss["start"]]
            mark1 = time.monotonic() + 0.2
            stops = [silence_at(gen, mark1)]
            cpu0 = _cpu_seconds([drv.process])
            workers = drv.process.children(recursive=True)  # the engine's process (vrrptui.daemon.worker)
            worker_cpu0 = _cpu_seconds(workers)
            threads0 = _thread_times(drv.process)
            frames0 = drv.ask("counts")["frames"]
            drv.ask("bursts")
            t0 = time.monotonic()
            latency = []
            kinds = ("priority", "help", "cursor") if mode == "console" else ("help",)
            for kind in kinds:
                latency.append(drv.ask(f"latency {kind} {presses}"))
            end = mark1 + window
            middle_at = mark1 + window / 2
            while time.monotonic() < end - 1.0:
                time.sleep(min(5.0, max(0.0, end - 1.0 - time.monotonic())))
                rss_samples.append(_rss_mb(drv.process))
                if "middle" not in rss and time.monotonic() >= middle_at:
                    rss["middle"] = rss_samples[-1]
            mark2 = end
            stops.append(silence_at(gen, mark2))
            offsets.append(time.time() - time.monotonic())
            wall = time.monotonic() - t0
            cpu = (_cpu_seconds([drv.process]) - cpu0) / wall * 100
            worker_cpu = (_cpu_seconds(workers) - worker_cpu0) / wall * 100
            worker_rss = sum(_rss_mb(w) for w in workers)
            threads1 = _thread_times(drv.process)
            thread_cpu: dict[str, float] = {}
            for tid, secs in threads1.items():
                name = names.get(tid, "other")
                thread_cpu[name] = round(thread_cpu.get(name, 0.0) + (secs - threads0.get(tid, 0.0)) / wall * 100, 2)
            rss["end"] = _rss_mb(drv.process)
            rss_samples.append(rss["end"])
            rss.setdefault("middle", rss_samples[len(rss_samples) // 2])
            rss["max"] = max(rss_samples)
            time.sleep(0.5)  # packets past mark 2, so the silence is closed
            counts = drv.ask("counts")
            ui_bursts = drv.ask("bursts")
            if mode == "console":
                states = drv.ask("states")
                if states.get("BACKUP") != INSTANCES:
                    notes.append(f"instances not all BACKUP at the end: {states} (the engine missed adverts)")
            drops = raw_drops(lab, "r2")
        finally:
            drv.quit()
        cap.stop()
        stats = [ln for ln in cap.stderr().splitlines() if "dropped by kernel" in ln]
        tcp_count, near = tcpdump_window(cap.path, src, mark1 + offsets[0], mark2 + offsets[1])
        bounds = []
        for mark in (mark1, mark2):
            close = [s for s in counts["silences"] if abs(s[0] - mark) < GAP]
            if close:
                bounds.append(min(close, key=lambda s: abs(s[0] - mark)))
            else:
                notes.append(f"no silence seen by the console at the boundary {mark - mark1:.1f} s: its receive "
                             f"path stalled so often that the window cannot be bounded (counts not comparable)")
        hook = model = None
        if len(bounds) == 2:
            hook = bounds[1][1] - bounds[0][1]
            model = bounds[1][2] - bounds[0][2]
        extra = len(counts["silences"]) - len(bounds)
        if extra > 0:
            notes.append(f"the console saw {extra} other silences > {WindowCounter.SILENCE} s from the generator "
                         f"(its receive path stalled)")
        if max(stops) > GAP + 0.05:
            notes.append(f"a silence lasted {max(stops):.3f} s (planned {GAP} s)")
        return SegmentResult(
            mode="console (255 backups)" if mode == "console" else "sniff", generator=gen_impl,
            window_s=round(mark2 - mark1, 2), gen_rate_per_s=round(tcp_count / (mark2 - mark1), 1),
            console_count=model, console_hook_count=hook, tcpdump_count=tcp_count,
            difference=None if model is None else model - tcp_count,
            tcpdump_near_boundaries=near, tcpdump_kernel_drops=stats[0] if stats else "?",
            raw_socket_drops=drops, inbox_dropped=counts["inbox_dropped"], latency=latency,
            cpu_percent=round(cpu, 2), thread_cpu_percent=thread_cpu, rss_mb=rss,
            rss_growth_mb=round(rss["end"] - rss["start"], 2),
            worker_cpu_percent=round(worker_cpu, 2), worker_rss_mb=round(worker_rss, 2),
            frames_per_s=round((counts["frames"] - frames0) / wall, 1), longest_stop_s=round(max(stops), 3),
            ui_bursts=ui_bursts, notes=notes,
        )


# --- takeover ---------------------------------------------------------------------------------

@dataclass
class TakeoverResult:
    backup: str  # "headless" or "console"
    segment: str  # "quiet" or "+254 VRIDs"
    theory: float
    takeover: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)


def background_config(router_id: str, priority: int) -> str:
    head = f"global_defs {{\n    router_id {router_id}\n    vrrp_version 3\n}}\n"
    return head + "".join(instance_block(f"VI_{v}", v, priority, V3, [f"10.10.{v}.1/32"])
                          for v in range(1, INSTANCES + 1) if v != DRILL_VRID)


def run_takeover(reps: int, gen_impl: str) -> list[TakeoverResult]:
    mdi = master_down_interval(3, CONSOLE_PRIORITY, V3.interval)
    results: list[TakeoverResult] = []
    with Lab(routers=("r1", "r2", "r3"), clients=()) as lab:
        ip1, ip2 = lab.ip4("r1"), lab.ip4("r2")
        lab.start_vrrptui("r1", config("r1", 110, V3))
        if not lab.wait_for(lambda: lab.vip_holders(VIP) == ["r1"], 10, 0.05):
            raise RuntimeError("takeover lab: r1 never held the VIP")
        bpf = f"vrrp and (src host {ip1} or src host {ip2})"
        for segment in ("quiet", "+254 VRIDs"):
            if segment != "quiet":
                gen = start_peer(lab, gen_impl, "r3", background_config("r3", GEN_PRIORITY))
                if not lab.wait_for(lambda: "10.10.255.1" in lab.addresses("r3"), 30, 0.2):
                    raise RuntimeError(f"takeover lab: the background generator never settled\n{lab.log(gen)[-1500:]}")
            for backup in ("headless", "console"):
                print(f"takeover: {backup} backup, {segment} x{reps} ...", file=sys.stderr, flush=True)
                result = TakeoverResult(backup, segment, mdi)
                results.append(result)
                r2_conf = config("r2", CONSOLE_PRIORITY, V3)
                drv: Driver | None = None
                proc = None
                if backup == "headless":
                    proc = lab.start_vrrptui("r2", r2_conf)
                else:
                    conf = lab.node_dir("r2") / "takeover.conf"
                    conf.write_text(r2_conf)
                    drv = Driver(lab, "r2", "console", str(conf))
                try:
                    time.sleep(1.0)
                    for rep in range(reps):
                        if not lab.wait_for(lambda: lab.vip_holders(VIP) == ["r1"], 10, 0.02):
                            result.failures.append(f"rep {rep}: r1 not the only VIP holder ({lab.vip_holders(VIP)})")
                            continue
                        time.sleep(0.5)  # r2 a settled backup
                        cap = lab.capture(bpf=bpf)
                        time.sleep(2 * V3.interval + 0.1)
                        event = time.time()
                        lab.cut("r1")
                        ok = lab.wait_for(lambda: lab.has_vip("r2", VIP), mdi * 3 + 3, 0.005)
                        time.sleep(2 * V3.interval)
                        cap.stop()
                        latency = takeover(cap.adverts(), ip1, ip2, event) if ok else None
                        if latency is None:
                            result.failures.append(f"rep {rep}: no takeover seen (VIP on r2: {ok})")
                        else:
                            result.takeover.append(latency)
                        lab.heal("r1")
                finally:
                    if drv is not None:
                        drv.quit()
                    if proc is not None:
                        lab.stop(proc)
                lab.wait_for(lambda: lab.vip_holders(VIP) == ["r1"], 10, 0.05)
    return results

