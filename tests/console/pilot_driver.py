"""Runs the real console under App.run_test inside a namespace; the test drives it over stdin.

    ip netns exec NS python pilot_driver.py console CONF DRILLS   (or: sniff IFACE DRILLS)

Each stdin line is a command, each answer one JSON line on stdout:
  press KEY [KEY...]   -> {"t": wall time just before the keys, "settled": after}
  status NAME          -> {"state": ..., "effective_priority": ...} or {}
  drills               -> [drill, ...] (finished ones)
  peers                -> [[src, vrid, priority], ...]
  health NAME          -> {"code": ..., "text": ..., "banner": [line, ...]} for instance NAME's virtual router
  events               -> [[kind, scope, text], ...] (the event history)
  screen               -> {"screen": class name of the screen on top, "text": what a confirmation says}
  quit                 -> presses q (and y if asked); {"t": ..., "asked": [lines]} then the process exits
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from functools import partial

from vrrptui.console.cli import build_console, build_sniff
from vrrptui.console.backends import RuntimeBackend
from vrrptui.console.history_pane import banner
from vrrptui.daemon.runtime import Runtime
from vrrptui.records import RouterKey


def say(obj) -> None:
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


async def drive(app) -> int:
    async with app.run_test(size=(160, 50)) as pilot:
        say({"ready": True})
        while True:
            line = await asyncio.to_thread(sys.stdin.readline)
            if not line:
                line = "quit"
            cmd, *args = line.split()
            if cmd == "press":
                t = time.time()  # before: the key acts at once, the screen settles later
                await pilot.press(*args)
                await pilot.pause()
                say({"t": t, "settled": time.time()})
            elif cmd == "status":
                await pilot.pause(0.15)
                st = app.session.statuses.get(args[0])
                say({} if st is None else {"state": st.state, "effective_priority": st.effective_priority,
                                           "held": st.held})
            elif cmd == "drills":
                app.refresh_panes()
                say([d.to_json() for d in app.session.drills])
            elif cmd == "peers":
                await pilot.pause(0.1)
                say([[p.src, p.key.vrid, p.priority] for p in app.session.peers.peers(app.clock())])
            elif cmd == "health":
                await pilot.pause(0.1)
                st = app.session.statuses[args[0]]
                v = app.session.alarms.verdict(RouterKey(st.interface, st.vrid, st.family))
                say({"code": v and v.code.value, "text": v and v.text,
                     "banner": [line for line, _ in banner(app.session, app.clock())]})
            elif cmd == "events":
                say([[e.kind, e.scope, e.text] for e in app.session.history.events])
            elif cmd == "log":
                say([line.text for line in getattr(app.backend, "lines", ())])
            elif cmd == "screen":
                say({"screen": type(app.screen).__name__, "text": getattr(app.screen, "consequences", None)})
            elif cmd == "quit":
                t = time.time()
                await pilot.press("q")
                await pilot.pause()
                asked = getattr(app.screen, "consequences", None)
                if asked is not None:
                    await pilot.press("y")
                say({"t": t, "asked": asked})
                break
    return app.return_code or 0


def main() -> int:
    mode, target, drills = sys.argv[1:4]
    if mode == "console":
        factory = partial(RuntimeBackend, runtime_factory=partial(Runtime, control_path=None))
        app = build_console([target, "--drills", drills], backend_factory=factory)
    else:
        app = build_sniff([target, "--drills", drills])
    if isinstance(app, int):
        return app
    app.refresh_every = 0.05
    try:
        return asyncio.run(drive(app))
    finally:
        app.shutdown_backend()


if __name__ == "__main__":
    sys.exit(main())
