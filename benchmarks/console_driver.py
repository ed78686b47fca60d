"""Driver mode of the console benchmark (benchmarks/console.py): runs inside a lab namespace and
hosts the real console under App.run_test, answering the orchestrator (console_lab.Driver) one JSON
line per command on stdout.

Started as `console.py driver console CONF DRILLS` or `console.py driver sniff IFACE DRILLS`.
"""

from __future__ import annotations

import json
import os
import random
import sys
import time
from typing import Any


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


def app_profile(kind: str) -> Any:
    """BENCH_KEYPROFILE=PREFIX: cProfile of the UI thread from each key press to its frame, per key kind."""
    prefix = os.environ.get("BENCH_KEYPROFILE")
    if not prefix:
        return None
    import atexit
    import cProfile

    profile = cProfile.Profile()
    atexit.register(lambda: profile.dump_stats(f"{prefix}-{kind}"))
    return profile


async def _latency(app: Any, watch: FrameWatch, kind: str, n: int) -> dict[str, Any]:
    """Press a key N times; time to the first frame showing the result (and to close, for dialogs)."""
    import asyncio

    from textual import events

    from vrrptui.console.screens import HelpScreen, PriorityDialog

    main = app.screen_stack[0]

    def send(key: str, char: str | None) -> None:
        app._driver.send_message(events.Key(key, char))

    profile = app_profile(kind)

    async def timed(key: str, char: str | None, pred: Any) -> float | None:
        watch.arm(pred)
        t0 = time.perf_counter()
        global PRESS_LOG
        if profile is not None and key != "escape":
            profile.enable()
        if os.environ.get("BENCH_SLOW") and key != "escape":
            PRESS_LOG, PRESS_T0[0] = [], t0
        send(key, char)
        try:
            async with asyncio.timeout(5.0):
                await watch.event.wait()
        except TimeoutError:
            watch.pred = None
            return None
        finally:
            if profile is not None:
                profile.disable()
            if PRESS_LOG is not None and (watch.t - t0) > 0.03:
                PRESS_LOG.append((round((app._key_at - time.monotonic() + time.perf_counter() - t0) * 1000, 1), 0,
                                  "the app dispatched the key"))
                SLOW_PRESSES.append((kind, (watch.t - t0) * 1000, sorted(PRESS_LOG)))
            PRESS_LOG = None
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
                if PRESS_LOG is not None:
                    PRESS_LOG.append((round((time.perf_counter() - PRESS_T0[0]) * 1000, 1), 0,
                                      f"frame: {type(screen).__name__} cursor {table.cursor_row}/{target} "
                                      f"table dirty {table in screen._dirty_widgets} {type(update).__name__}"))
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
    if os.environ.get("BENCH_SLOW"):
        _slow_sampler(loop, run, original, os.environ["BENCH_SLOW"])

    def report() -> dict[str, Any]:
        out = sorted(durations)
        durations.clear()
        if not out:
            return {"n": 0}
        return {"n": len(out), "total_s": round(sum(out), 2), "p50_ms": round(out[len(out) // 2] * 1000, 1),
                "p95_ms": round(out[int(len(out) * 0.95)] * 1000, 1), "max_ms": round(out[-1] * 1000, 1)}

    return report


PRESS_LOG: list[Any] | None = None  # BENCH_SLOW: the UI callbacks over 2 ms during the press being timed
PRESS_T0 = [0.0]
SLOW_PRESSES: list[Any] = []


def _slow_sampler(loop: Any, timed: Any, original: Any, path: str) -> None:
    """BENCH_SLOW=FILE: where the UI thread is while a callback runs past 15 ms (sampled every 2 ms);
    written at exit as inclusive sample counts per function, the slowest callbacks' stacks first."""
    import atexit
    import collections
    import threading

    state: dict[str, Any] = {"t": None, "samples": []}
    main_id = threading.get_ident()
    bursts: list[tuple[float, collections.Counter[str]]] = []
    inclusive: collections.Counter[str] = collections.Counter()
    slow_by_task: dict[str, list[float]] = {}

    def run(handle: Any) -> None:
        if handle._loop is not loop:
            return original(handle)
        state["t"] = t = time.perf_counter()
        state["samples"] = samples = []
        try:
            return timed(handle)
        finally:
            state["t"] = None
            d = time.perf_counter() - t
            if PRESS_LOG is not None and d > 0.002:
                owner = getattr(getattr(handle, "_callback", None), "__self__", None)
                PRESS_LOG.append((round((t - PRESS_T0[0]) * 1000, 1), round(d * 1000, 1),
                                  owner.get_name() if hasattr(owner, "get_name") else repr(handle)[:60]))
            if d > 0.015:
                owner = getattr(getattr(handle, "_callback", None), "__self__", None)
                name = owner.get_name() if hasattr(owner, "get_name") else repr(handle)[:80]
                slow_by_task.setdefault(name, []).append(d)
            if samples:
                counts: collections.Counter[str] = collections.Counter()
                for stack in samples:
                    for fn in set(stack):
                        inclusive[fn] += 1
                    counts[" < ".join(stack[:6])] += 1
                bursts.append((time.perf_counter() - t, counts))

    asyncio_handle = __import__("asyncio").events.Handle
    asyncio_handle._run = run

    def sample() -> None:
        while True:
            time.sleep(0.002)
            t = state["t"]
            if t is None or time.perf_counter() - t < 0.015:
                continue
            frame = sys._current_frames().get(main_id)
            stack = []
            while frame is not None:
                code = frame.f_code
                stack.append(f"{code.co_filename.rsplit('/', 2)[-1]}:{code.co_name}")
                frame = frame.f_back
            state["samples"].append(stack)

    threading.Thread(target=sample, daemon=True, name="bench-slow").start()

    import gc

    gc_started = [0.0]
    gc_pauses: dict[int, list[float]] = {0: [], 1: [], 2: []}

    def gc_timer(phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            gc_started[0] = time.perf_counter()
            return
        d = time.perf_counter() - gc_started[0]
        gc_pauses[info["generation"]].append(d)
        if PRESS_LOG is not None and d > 0.002:
            PRESS_LOG.append((round((gc_started[0] - PRESS_T0[0]) * 1000, 1), round(d * 1000, 1),
                              f"gc generation {info['generation']}"))

    gc.callbacks.append(gc_timer)

    from textual.widget import Widget

    layouts: collections.Counter[str] = collections.Counter()
    refresh = Widget.refresh

    def counted(self: Any, *regions: Any, repaint: bool = True, layout: bool = False, recompose: bool = False) -> Any:
        if layout:
            caller = sys._getframe(1)
            where = []
            for _ in range(4):
                if caller is None:
                    break
                where.append(f"{caller.f_code.co_filename.rsplit('/', 1)[-1]}:{caller.f_code.co_name}")
                caller = caller.f_back
            layouts[f"{type(self).__name__}#{self.id} <- {' < '.join(where)}"] += 1
        return refresh(self, *regions, repaint=repaint, layout=layout, recompose=recompose)

    Widget.refresh = counted

    def dump() -> None:
        with open(path, "w") as out:
            out.write("callbacks over 15 ms by task: count, total ms, longest ms\n")
            for name, ds in sorted(slow_by_task.items(), key=lambda kv: -sum(kv[1])):
                out.write(f"{len(ds):5d} {sum(ds) * 1000:8.0f} {max(ds) * 1000:6.0f}  {name}\n")
            for gen, ds in gc_pauses.items():
                if ds:
                    out.write(f"gc generation {gen}: {len(ds)} collections, {sum(ds) * 1000:.0f} ms in all, "
                              f"longest {max(ds) * 1000:.1f} ms\n")
            out.write("\nrefresh(layout=True) by widget and caller\n")
            for where, n in layouts.most_common(30):
                out.write(f"{n:6d} {where}\n")
            out.write(f"\n{len(bursts)} callbacks sampled past 15 ms\n\ninclusive samples:\n")
            for fn, n in inclusive.most_common(80):
                out.write(f"{n:6d} {fn}\n")
            for kind, ms, log in sorted(SLOW_PRESSES, key=lambda p: -p[1]):
                out.write(f"\n=== {kind} press {ms:.0f} ms: callbacks (start ms, duration ms, task)\n")
                for entry in log:
                    out.write(f"    {entry}\n")
            for d, counts in sorted(bursts, key=lambda b: -b[0])[:40]:
                out.write(f"\n--- {d * 1000:.0f} ms\n")
                for stack, n in counts.most_common(5):
                    out.write(f"{n:4d} {stack}\n")

    atexit.register(dump)


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

