"""The real console under App.run_test inside a lab namespace, driven over stdin by make_screenshots.py.

    ip netns exec NS python console_driver.py console CONF --drills FILE --ping-log FILE --out DIR
    ip netns exec NS python console_driver.py sniff IFACE --drills FILE --ping-log FILE --out DIR

One command per stdin line, one JSON answer per line on stdout:
  press KEY [KEY...]            -> {"t": wall time before the keys}
  tab TAB_ID                    -> {} (tab-log, tab-peers, tab-vips, tab-drills)
  state NAME                    -> {"state": ..., "master": ...} or {}
  drills                        -> [finished drill, ...]
  split                         -> [split-brain description, ...]
  shot NAME                     -> {"path": DIR/NAME.svg}
  quit                          -> {} then the app quits (resigns, removes VIPs) and the process exits
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from functools import partial
from pathlib import Path

from textual.widgets import TabbedContent

from vrrptui.console.app import VrrpConsole
from vrrptui.console.cli import build_console, build_sniff
from vrrptui.console.backends import RuntimeBackend
from vrrptui.console.history_pane import banner
from vrrptui.daemon.runtime import Runtime

SIZE = (160, 48)


def say(obj: object) -> None:
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


async def drive(app: VrrpConsole, out: Path) -> int:
    # notifications=True: the drill result toast is part of what an operator sees.
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        say({"ready": True})
        while True:
            line = (await asyncio.to_thread(sys.stdin.readline)) or "quit"
            cmd, *args = line.split()
            if cmd == "press":
                import time

                t = time.time()
                await pilot.press(*args)
                await pilot.pause()
                say({"t": t})
            elif cmd == "tab":
                app.query_one("#tabs", TabbedContent).active = args[0]
                await pilot.pause(0.1)
                say({})
            elif cmd == "state":
                st = app.session.statuses.get(args[0])
                say({} if st is None else {"state": st.state, "master": st.master_address})
            elif cmd == "drills":
                say([d.to_json() for d in app.session.drills])
            elif cmd == "split":
                say([line for line, _ in banner(app.session, app.clock()) if "split brain" in line.lower()])
            elif cmd == "shot":
                app.refresh_slow()
                app.refresh_panes()
                await pilot.pause(0.2)  # let the refreshed panes lay out before rendering
                path = app.save_screenshot(filename=f"{args[0]}.svg", path=str(out))
                say({"path": path})
            elif cmd == "quit":
                say({})
                await pilot.press("q")
                break
            else:
                say({"error": f"unknown command {cmd!r}"})
    return app.return_code or 0


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("mode", choices=("console", "sniff"))
    p.add_argument("target", help="config file (console) or interface (sniff)")
    p.add_argument("--drills", required=True)
    p.add_argument("--ping-log", type=Path, required=True)
    p.add_argument("--out", type=Path, required=True)
    args = p.parse_args()
    if args.mode == "console":
        # No control socket: the screenshot lab must not take /run/vrrptui from a demo running beside it.
        factory = partial(RuntimeBackend, runtime_factory=partial(Runtime, control_path=None))
        app = build_console([args.target, "--drills", args.drills, "--yes"], backend_factory=factory)
    else:
        app = build_sniff([args.target, "--drills", args.drills])
    if isinstance(app, int):
        return app
    app.lab_ping_path = args.ping_log
    try:
        return asyncio.run(drive(app, args.out))
    finally:
        app.shutdown_backend()


if __name__ == "__main__":
    sys.exit(main())
