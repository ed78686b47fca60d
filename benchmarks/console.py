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
import random
import statistics
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))
from failover import Timing, _cpu_seconds, _tree, config, instance_block, start_peer, takeover  # noqa: E402

from vrrptui.lab.netns import Lab  # noqa: E402
from vrrptui.protocol.timers import master_down_interval  # noqa: E402

RESULTS = Path(__file__).with_name("console-results.json")
V3 = Timing(3, 0.1)
INSTANCES = 255
GEN_PRIORITY, CONSOLE_PRIORITY = 200, 100
GAP = 0.16  # generator silence around a window boundary; + one interval stays under Master_Down_Interval (0.361 s)
DRILL_VRID = 51
VIP = "192.168.1.100"


# =============================================================================================
# driver: runs inside the namespace, hosts the real console under App.run_test
# =============================================================================================

def _say(obj: Any) -> None:
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


class FrameWatch:
    """Wraps App._display (called once per compositor frame, after the frame was rendered).

    arm(pred) and the next frame for which pred(screen, update) holds stamps `t`.
    """

    def __init__(self, app: Any) -> None:
        import asyncio

        self.app = app
        self.pred: Any = None
        self.t = 0.0
        self.event = asyncio.Event()
        self.frames = 0
        original = app._display

        def display(screen: Any, renderable: Any) -> None:
            original(screen, renderable)
            if renderable is None or app._batch_count:
                return  # nothing shown in this call
            self.frames += 1
            if self.pred is not None and self.pred(screen, renderable):
                self.t = time.perf_counter()
                self.pred = None
                self.event.set()

        app._display = display

    def arm(self, pred: Any) -> None:
        self.pred = pred
        self.event.clear()


class WindowCounter:
    """Counts packets from one source as they reach the console's models, and notes every silence.

    When a packet from the source arrives more than SILENCE s after the previous one, the
    silence's midpoint is recorded with the packets counted so far and the peer model's own
    count for the source at that moment: the orchestrator's stops of the generator are the
    window's boundaries, found here by time, however late the UI processes them.
    """

    SILENCE = 0.1

    def __init__(self, app: Any) -> None:
        self.app = app
        self.src: str | None = None
        self.count = 0
        self.last_at: float | None = None
        self.silences: list[tuple[float, int, int]] = []  # (midpoint, hook count, model count)
        session = app.session
        original = session.heard

        def heard(h: Any) -> None:
            if self.src is not None and not h.outgoing and str(h.src) == self.src:
                if self.last_at is not None and h.at - self.last_at > self.SILENCE:
                    self.silences.append(((h.at + self.last_at) / 2, self.count, self.model_count()))
                self.last_at = h.at
                self.count += 1
            original(h)

        session.heard = heard

    def model_count(self) -> int:
        """adverts + drops the peer table holds for the source, over every VRID."""
        total = 0
        for p in self.app.session.peers.peers(self.app.clock()):
            if p.src == self.src and not p.local:
                total += p.adverts + sum(p.drops.values())
        return total


def _p(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, max(0, round(q * len(s) + 0.5) - 1))]


async def _latency(app: Any, watch: FrameWatch, kind: str, n: int) -> dict[str, Any]:
    """Press a key N times; time to the first frame showing the result (and to close, for dialogs)."""
    import asyncio

    from textual import events

    from vrrptui.console.screens import HelpScreen, PriorityDialog

    main = app.screen_stack[0]

    def send(key: str, char: str | None) -> None:
        app._driver.send_message(events.Key(key, char))

    async def timed(key: str, char: str | None, pred: Any) -> float | None:
        watch.arm(pred)
        t0 = time.perf_counter()
        send(key, char)
        try:
            await asyncio.wait_for(watch.event.wait(), 5.0)
        except TimeoutError:
            watch.pred = None
            return None
        return (watch.t - t0) * 1000

    opened: list[float] = []
    closed: list[float] = []
    missed = 0
    for _ in range(n):
        await asyncio.sleep(random.uniform(0.15, 0.35))  # not in step with the refresh timers
        if kind in ("help", "priority"):
            cls = HelpScreen if kind == "help" else PriorityDialog
            key, char = ("question_mark", "?") if kind == "help" else ("p", "p")
            ms = await timed(key, char, lambda screen, _u, cls=cls: isinstance(screen, cls))
            if ms is None:
                missed += 1
                continue
            opened.append(ms)
            await asyncio.sleep(random.uniform(0.1, 0.2))
            ms = await timed("escape", None, lambda screen, _u: screen is main and app.screen is main)
            if ms is None:
                missed += 1
                while app.screen is not main:
                    app.pop_screen()
                continue
            closed.append(ms)
        elif kind == "cursor":
            from textual.widgets import DataTable

            table = app.query_one("#instances", DataTable)
            if app.focused is not table:
                table.focus()
                await asyncio.sleep(0.1)
            key = "down" if table.cursor_row < 5 or table.row_count < 2 else "up"
            target = table.cursor_row + (1 if key == "down" else -1)

            def shown(screen: Any, update: Any, table: Any = table, target: int = target) -> bool:
                # a full layout repaints everything; a partial one must include the table
                return (screen is main and table.cursor_row == target
                        and (table in screen._dirty_widgets or type(update).__name__ == "LayoutUpdate"))

            ms = await timed(key, None, shown)
            if ms is None:
                missed += 1
            else:
                opened.append(ms)
        else:
            raise ValueError(kind)
    out: dict[str, Any] = {"kind": kind, "ms": [round(x, 2) for x in opened], "missed": missed}
    if closed:
        out["close_ms"] = [round(x, 2) for x in closed]
    return out


def _burst_meter(app: Any) -> Any:
    """Longest stretches the UI thread spends in one callback (the engine thread waits for the GIL meanwhile)."""
    import asyncio

    loop = asyncio.get_running_loop()
    durations: list[float] = []
    original = asyncio.events.Handle._run

    def run(handle: Any) -> None:
        if handle._loop is not loop:
            return original(handle)
        t = time.perf_counter()
        try:
            return original(handle)
        finally:
            d = time.perf_counter() - t
            if d > 0.005:
                durations.append(d)
                if d > 0.05 and os.environ.get("BENCH_BURSTS"):
                    print(f"burst {d * 1000:.0f} ms {handle!r}"[:300], file=sys.stderr, flush=True)

    asyncio.events.Handle._run = run

    def report() -> dict[str, Any]:
        out = sorted(durations)
        durations.clear()
        if not out:
            return {"n": 0}
        return {"n": len(out), "total_s": round(sum(out), 2), "p50_ms": round(out[len(out) // 2] * 1000, 1),
                "p95_ms": round(out[int(len(out) * 0.95)] * 1000, 1), "max_ms": round(out[-1] * 1000, 1)}

    return report


async def _drive(app: Any) -> int:
    import asyncio
    import threading

    async with app.run_test(size=(160, 50)) as pilot:
        bursts = _burst_meter(app)
        watch = FrameWatch(app)
        counter = WindowCounter(app)
        _say({"ready": True, "pid": os.getpid()})
        while True:
            line = await asyncio.to_thread(sys.stdin.readline)
            if not line:
                line = "quit"
            cmd, *args = line.split()
            if cmd == "states":
                states: dict[str, int] = {}
                for st in app.session.statuses.values():
                    states[st.state] = states.get(st.state, 0) + 1
                _say(states)
            elif cmd == "peers":
                srcs: dict[str, int] = {}
                for p in app.session.peers.peers(app.clock()):
                    srcs[p.src] = srcs.get(p.src, 0) + 1
                _say(srcs)
            elif cmd == "source":
                counter.src = args[0]
                _say({"ok": True})
            elif cmd == "counts":
                _say({"count": counter.count, "silences": counter.silences, "model_now": counter.model_count(),
                      "inbox_dropped": app.inbox_dropped, "log_seq": app.session.log_seq, "frames": watch.frames})
            elif cmd == "latency":
                _say(await _latency(app, watch, args[0], int(args[1])))
            elif cmd == "bursts":
                _say(bursts())
            elif cmd == "threads":
                _say({str(t.native_id): t.name for t in threading.enumerate()})
            elif cmd == "quit":
                await pilot.press("q")
                _say({"ok": True})
                break
            else:
                _say({"error": f"unknown command {cmd}"})
    return app.return_code or 0


def driver_main(argv: list[str]) -> int:
    """console.py driver console CONF DRILLS | driver sniff IFACE DRILLS"""
    import asyncio
    from functools import partial

    from vrrptui.console.cli import build_console, build_sniff
    from vrrptui.console.backends import RuntimeBackend
    from vrrptui.daemon.runtime import Runtime

    mode, target, drills = argv[:3]
    if mode == "console":
        factory = partial(RuntimeBackend, runtime_factory=partial(Runtime, control_path=None))
        app = build_console([target, "--drills", drills, "--yes"], backend_factory=factory)
    else:
        app = build_sniff([target, "--drills", drills])
    if isinstance(app, int):
        return app
    if os.environ.get("BENCH_SWITCH"):
        sys.setswitchinterval(float(os.environ["BENCH_SWITCH"]))
    try:
        if os.environ.get("BENCH_PROFILE"):
            import cProfile

            profile = cProfile.Profile()
            try:
                return profile.runcall(asyncio.run, _drive(app))
            finally:
                profile.dump_stats(os.environ["BENCH_PROFILE"])
        return asyncio.run(_drive(app))
    finally:
        app.shutdown_backend()


# =============================================================================================
# orchestration: root namespace, creates and deletes the lab
# =============================================================================================

class Driver:
    """The console in a lab node, under run_test, answering one JSON line per command."""

    def __init__(self, lab: Lab, node: str, mode: str, target: str, timeout: float = 60.0) -> None:
        self.lab = lab
        drills = lab.node_dir(node) / "drills.jsonl"
        self.stderr_path = lab.node_dir(node) / f"driver-{mode}.stderr"
        err = open(self.stderr_path, "w")
        self.proc = lab.popen(node, [sys.executable, str(Path(__file__).resolve()), "driver", mode, target,
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
            offset = time.time() - time.monotonic()
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
        tcp_count, near = tcpdump_window(cap.path, src, mark1 + offset, mark2 + offset)
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


# --- report -------------------------------------------------------------------------------------

def _stats(values: list[float]) -> str:
    if not values:
        return "-"
    return f"{statistics.median(values):7.1f} {_p(values, 0.95):7.1f} {max(values):7.1f}"


def print_segments(results: list[SegmentResult]) -> None:
    print(f"{'segment':<22} {'gen':<10} {'window s':>8} {'adv/s':>7} {'console':>9} {'tcpdump':>9} {'diff':>5}  "
          f"{'CPU %':>6}  {'RSS MB start/mid/end (growth)':<32} frames/s")
    for r in results:
        rss = f"{r.rss_mb['start']:.1f}/{r.rss_mb['middle']:.1f}/{r.rss_mb['end']:.1f} ({r.rss_growth_mb:+.1f})"
        count = "-" if r.console_count is None else str(r.console_count)
        diff = "-" if r.difference is None else f"{r.difference:+d}"
        print(f"{r.mode:<22} {r.generator:<10} {r.window_s:>8.1f} {r.gen_rate_per_s:>7.1f} {count:>9} "
              f"{r.tcpdump_count:>9} {diff:>5}  {r.cpu_percent:>6.1f}  {rss:<32} {r.frames_per_s:g}")
        threads = ", ".join(f"{k} {v:.1f}" for k, v in sorted(r.thread_cpu_percent.items(),
                                                              key=lambda kv: -kv[1]) if v >= 0.1)
        print(f"    threads CPU %: {threads}")
        if r.worker_rss_mb:
            print(f"    engine worker process: CPU {r.worker_cpu_percent:.1f} %, RSS {r.worker_rss_mb:.1f} MB "
                  f"(the CPU % column is the UI process)")
        print(f"    hook count {r.console_hook_count}; "
              f"tcpdump packets within 50 ms of a boundary {r.tcpdump_near_boundaries}; "
              f"raw-socket drops {r.raw_socket_drops}; inbox dropped {r.inbox_dropped}; {r.tcpdump_kernel_drops}")
        b = r.ui_bursts
        if b.get("n"):
            print(f"    UI-thread callbacks > 5 ms: {b['n']}, {b['total_s']} s in all, median {b['p50_ms']} ms, "
                  f"p95 {b['p95_ms']} ms, longest {b['max_ms']} ms")
        for n in r.notes:
            print(f"    ! {n}")
    print()
    print(f"{'key-press-to-screen ms':<30} {'n':>3} {'median':>7} {'p95':>7} {'max':>7}   close: median p95")
    for r in results:
        for lat in r.latency:
            what = {"priority": "p (priority dialog)", "help": "? (help screen)",
                    "cursor": "cursor down/up"}[lat["kind"]]
            close = _stats(lat["close_ms"]).split() if lat.get("close_ms") else []
            close_txt = f"{close[0]} {close[1]}" if close else "-"
            missed = f"  ({lat['missed']} missed)" if lat["missed"] else ""
            label = r.mode.split()[0] + ": " + what
            print(f"{label:<30} {len(lat['ms']):>3} {_stats(lat['ms'])}   {close_txt}{missed}")
    print("time from the key event entering the app to the first compositor frame showing the result "
          "(target < 100 ms).")


def print_takeover(results: list[TakeoverResult]) -> None:
    print(f"{'takeover (cable pull, v3 0.1 s)':<32} {'theory s':>9} {'headless s':>22} {'console s':>22} "
          f"{'console-headless ms':>20}")
    for segment in dict.fromkeys(r.segment for r in results):
        row = {r.backup: r for r in results if r.segment == segment}
        h, c = row.get("headless"), row.get("console")

        def fmt(r: TakeoverResult | None) -> str:
            if r is None or not r.takeover:
                return "-"
            return f"{statistics.median(r.takeover):.4f} ({min(r.takeover):.3f}-{max(r.takeover):.3f})"

        delta = "-"
        if h and c and h.takeover and c.takeover:
            delta = f"{(statistics.median(c.takeover) - statistics.median(h.takeover)) * 1000:+.1f}"
        theory = (h or c).theory  # type: ignore[union-attr]
        n = f"n={len(h.takeover) if h else 0}/{len(c.takeover) if c else 0}"
        print(f"{segment + ' ' + n:<32} {theory:>9.4f} {fmt(h):>22} {fmt(c):>22} {delta:>20}")
        for r in (h, c):
            for f in (r.failures if r else []):
                print(f"    ! {r.backup}: {f}")  # type: ignore[union-attr]
    print("latency = r1's last advert -> r2's first, tcpdump on the bridge; theory = r2's Master_Down_Interval.")


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
