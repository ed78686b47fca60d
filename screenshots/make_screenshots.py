"""`make screenshots`: SVGs of the console from a real run of the DENT lab (needs root).

A private copy of the `vrrptui lab` topology (namespaces vrrptui-<pid><hex>-*, deleted in
`finally`): pc1 pings the VIP, dent2 and dent3 run the real console (configs/dent2.conf,
configs/dent3.conf, VRRPv2 unicast, 1 s adverts), the bridge namespace runs `vrrptui sniff`.
Each console is the real app under App.run_test in its router's namespace
(console_driver.py), so the shots show live panes, not staged data:

  1. steady state on the master dent2     2. dent3 watching its master
  3. a force-failover drill from dent2    4. split brain (dent3 restarted with another auth_pass)
  5. the sniff view on the bridge
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from collections.abc import Callable

from vrrptui.lab.cli import VIP, dent_lab, ping_vip
from vrrptui.lab.netns import BRIDGE, Lab

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
DRIVER = HERE / "console_driver.py"
WAIT = 15.0  # bound on a wait that should take a few seconds; a hang fails the run instead
FILL = 20.0  # seconds of 1 s adverts in the timeline before the first shots


class Console:
    """One console_driver.py process in a lab namespace, with its own hostname (UTS namespace)."""

    def __init__(self, lab: Lab, node: str, hostname: str, *args: str) -> None:
        self.name = hostname
        # unshare --uts: the header shows the router's name, as on a real router; the host keeps its own.
        argv = ["unshare", "--uts", "sh", "-c", f'hostname {hostname} && exec "$@"', "sh",
                sys.executable, str(DRIVER), *args]
        self.proc = lab.popen(node, argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              stderr=open(lab.workdir / f"{hostname}-console.err", "w"), text=True, bufsize=1,
                              cwd=REPO)
        self.err = lab.workdir / f"{hostname}-console.err"
        if self.read() != {"ready": True}:
            raise RuntimeError(f"{hostname} console did not start")

    def read(self) -> Any:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            self.proc.wait(5)
            raise RuntimeError(f"{self.name} console exited {self.proc.returncode}: "
                               f"{self.err.read_text(errors='replace')[-3000:]}")
        return json.loads(line)

    def ask(self, command: str) -> Any:
        assert self.proc.stdin is not None
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()
        return self.read()

    def shot(self, name: str) -> None:
        path = self.ask(f"shot {name}")["path"]
        print(f"  {Path(path).relative_to(REPO)}")

    def quit(self) -> None:
        if self.proc.poll() is None:
            self.ask("quit")
            self.proc.wait(WAIT)


def until(what: str, pred: Callable[[], Any], timeout: float = WAIT) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = pred()
        if value:
            return value
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.1)


def run(lab: Lab, out: Path) -> None:
    ping_log = lab.workdir / "pc1-ping.log"
    lab.exec("pc1", ["ip", "route", "add", "default", "via", VIP], check=True)
    with open(ping_log, "w") as f:
        ping_vip(lab, f)

    def console(node: str, hostname: str, mode: str, target: str) -> Console:
        return Console(lab, node, hostname, mode, target, "--drills", str(lab.workdir / f"{hostname}-drills.jsonl"),
                       "--ping-log", str(ping_log), "--out", str(out))

    print("lab up; consoles on dent2 and dent3, sniff on the bridge")
    sniff = console(BRIDGE, "dent1", "sniff", lab.iface(BRIDGE))
    dent2 = console("dent2", "dent2", "console", "configs/dent2.conf")
    dent3 = console("dent3", "dent3", "console", "configs/dent3.conf")
    until("dent2 master", lambda: dent2.ask("state VI_1").get("state") == "MASTER")
    until("dent3 backup of dent2", lambda: dent3.ask("state VI_1") == {"state": "BACKUP", "master": "192.168.1.11"})
    dent3.ask("tab tab-peers")  # dent2's peers pane would list only itself: a backup is silent
    time.sleep(FILL)
    dent2.shot("1-steady-master")
    dent3.shot("2-backup-watching-master")

    print("drill: f on dent2 (goes silent), dent3 takes over")
    dent2.ask("press f")
    until("the drill's result", lambda: dent2.ask("drills"))
    time.sleep(2.5)  # a few of dent3's adverts as master in the timeline
    dent2.shot("3-failover-drill")

    print("r on dent2: it preempts back; the sniffer saw it all")
    dent2.ask("press r")
    until("dent2 master again", lambda: dent2.ask("state VI_1").get("state") == "MASTER")
    time.sleep(4.0)  # past dent3's master-down interval (3.6 s): the peers pane no longer counts it as master
    sniff.ask("tab tab-peers")
    sniff.shot("5-sniff-bridge")

    print("split brain: dent3 restarted headless with another auth_pass")
    dent3.quit()
    conf = (REPO / "configs" / "dent3.conf").read_text().replace("auth_pass 1212", "auth_pass 9999")
    lab.start_vrrptui("dent3", conf)
    until("split brain seen by dent2", lambda: dent2.ask("split"), timeout=WAIT)
    dent2.ask("tab tab-peers")
    time.sleep(2.0)  # a few more adverts from each master
    dent2.shot("4-split-brain")
    dent2.quit()
    sniff.quit()


def main() -> int:
    if os.geteuid() != 0:
        print("make_screenshots: needs root (it builds the lab in network namespaces); run it with sudo",
              file=sys.stderr)
        return 1
    for tool in ("ip", "ping", "stdbuf", "unshare"):
        if shutil.which(tool) is None:
            print(
                f"make_screenshots: {tool} not found; install iproute2, iputils-ping, coreutils, util-linux",
                file=sys.stderr,
            )
            return 1
    # SIGTERM ends the run like ctrl+c: through `finally`, which deletes the namespaces.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    started = time.monotonic()
    lab = dent_lab()  # per-run namespace names: a demo lab may be up beside it
    try:
        run(lab, HERE)
    except RuntimeError as exc:
        print(f"make_screenshots: {exc} (logs in {lab.workdir}, kept with VRRPTUI_LAB_KEEP=1)", file=sys.stderr)
        return 1
    finally:
        lab.down()
    print(f"done in {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
