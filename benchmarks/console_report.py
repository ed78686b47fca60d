"""Tables of the console benchmark (benchmarks/console.py)."""

from __future__ import annotations

import statistics

from console_lab import SegmentResult, TakeoverResult


def _p(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, max(0, round(q * len(s) + 0.5) - 1))]



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

