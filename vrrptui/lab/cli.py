"""`vrrptui lab up|down|status [--peer vrrptui|keepalived]`: the DENT guide's topology in namespaces.

`vrrptui lab peer stop|start|freeze|thaw` acts on dent3's daemon (vrrptui.lab.peer).

    vrrptui-pc1    eth0    192.168.1.2/24, default route via the VIP 192.168.1.13, pings it
    vrrptui-dent1  br0     the L2 switch: ports enp0s4 (pc1), enp0s5 (dent2), enp0s6 (dent3)
    vrrptui-dent2  enp0s4  192.168.1.11/24: left free for `vrrptui configs/dent2.conf` (the console)
    vrrptui-dent3  enp0s4  192.168.1.12/24: headless vrrptui (or keepalived) with configs/dent3.conf

The lab outlives this command: pids and logs are kept under /run/vrrptui/lab/ and
`vrrptui lab down` removes every namespace and every process in them.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import IO, Any

from vrrptui.lab.netns import (
    BRIDGE,
    Lab,
    LabError,
    destroy_namespace,
    list_namespaces,
    namespace_pids,
)
from vrrptui.lab.peer import peer_action, start_daemon

RUN_DIR = "/run/vrrptui/lab"
VIP = "192.168.1.13"
ROUTER_IF = "enp0s4"
NODES = {"pc1": "pc1", BRIDGE: "dent1", "dent2": "dent2", "dent3": "dent3"}
# The DENT guide's switch ports: enp0s4..6 on dent1.
PORTS = {"pc1": "enp0s4", "dent2": "enp0s5", "dent3": "enp0s6"}
PING_LOG = "pc1-ping.log"
STATE_FILE = "lab.json"


def default_config_dir() -> Path:
    """configs/ in the current directory (`make demo`), else the one next to the package."""
    here = Path.cwd() / "configs"
    if (here / "dent3.conf").exists():
        return here
    return Path(__file__).resolve().parents[2] / "configs"


def namespaces(tag: str = "") -> dict[str, str]:
    """Node -> namespace: vrrptui-dent2 etc.; a TAG (VRRPTUI_LAB_TAG, for tests) gives a private copy."""
    prefix = f"vrrptui-{tag}-" if tag else "vrrptui-"
    return {node: prefix + host for node, host in NODES.items()}


NAMESPACES = namespaces()


def dent_lab(**options: Any) -> Lab:
    """The DENT guide's topology (module docstring); OPTIONS go to Lab.

    Without options the namespaces get per-run names and come up at once (make_screenshots.py).
    """
    return Lab(
        routers=("dent2", "dent3"),
        clients=("pc1",),
        ifname=ROUTER_IF,
        client_ifname="eth0",
        router_v4={"dent2": "192.168.1.11", "dent3": "192.168.1.12"},
        client_v4={"pc1": "192.168.1.2"},
        port_names=PORTS,
        **options,
    )


def make_lab(run_dir: Path) -> Lab:
    return dent_lab(fixed_names=NAMESPACES, workdir=run_dir, persistent=True, up=False)


def ping_vip(lab: Lab, out: IO[str]) -> subprocess.Popen[Any]:
    """pc1 pings the VIP 5 times a second, one line per reply into OUT (the console's ping pane)."""
    # -D: epoch stamps, -O: a line for each lost reply, so the console shows losses too.
    return lab.popen("pc1", ["stdbuf", "-oL", "ping", "-n", "-D", "-O", "-i", "0.2", VIP],
                     stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)


def lab_present() -> list[str]:
    existing = set(list_namespaces())
    return [ns for ns in NAMESPACES.values() if ns in existing]


def _configure_from_env() -> Path:
    """VRRPTUI_LAB_TAG / VRRPTUI_LAB_DIR let tests run a lab beside the demo without touching it."""
    global NAMESPACES
    NAMESPACES = namespaces(os.environ.get("VRRPTUI_LAB_TAG", ""))
    return Path(os.environ.get("VRRPTUI_LAB_DIR", RUN_DIR))


def up(peer: str, config_dir: Path, run_dir: Path) -> int:
    conf = config_dir / "dent3.conf"
    if not conf.is_file():
        print(f"vrrptui lab: {conf} not found; run from the repository or pass --configs DIR", file=sys.stderr)
        return 1
    if lab_present():
        print(f"lab: already (partly) up ({', '.join(lab_present())}); taking it down first")
        down(run_dir, quiet=True)
    run_dir.mkdir(parents=True, exist_ok=True)
    lab = make_lab(run_dir)
    try:
        lab.up()
        lab.exec("pc1", ["ip", "route", "add", "default", "via", VIP], check=True)
        daemon = start_daemon(lab, peer, conf.read_text())
        ping_log = run_dir / PING_LOG
        with open(ping_log, "w") as out:
            ping = ping_vip(lab, out)
        # A daemon that rejects its config dies at once: say so now rather than in `status`.
        time.sleep(0.5)
        if daemon.poll() is not None:
            print(f"lab: {peer} on dent3 exited with {daemon.returncode}:\n{lab.log(daemon)[-2000:]}", file=sys.stderr)
            raise LabError(f"{peer} did not start on dent3")
        state: dict[str, Any] = {
            "peer": peer,
            "config": str(conf),
            "namespaces": lab.namespaces,
            "pids": {"dent3": daemon.pid, "pc1-ping": ping.pid},
            "logs": {"dent3": str(daemon.log_path), "pc1-ping": str(ping_log)},  # type: ignore[attr-defined]
            "started": time.time(),
        }
        (run_dir / STATE_FILE).write_text(json.dumps(state, indent=2) + "\n")
        for name, pid in state["pids"].items():
            (run_dir / f"{name}.pid").write_text(f"{pid}\n")
    except BaseException as exc:
        lab.down()
        down(run_dir, quiet=True)
        if isinstance(exc, (LabError, OSError)):
            print(f"vrrptui lab up: {exc}", file=sys.stderr)
            return 1
        raise
    print(f"lab up: dent3 runs {peer} with {conf}, pc1 pings {VIP} (log {run_dir / PING_LOG})")
    print(f"console on dent2:  ip netns exec {NAMESPACES['dent2']} vrrptui {config_dir / 'dent2.conf'}")
    print("tear down:         vrrptui lab down")
    return 0


def down(run_dir: Path, quiet: bool = False) -> int:
    state = _state(run_dir)
    for ns in NAMESPACES.values():
        destroy_namespace(ns)
    # Processes the lab started are in its namespaces; a recorded pid that still lives elsewhere
    # (a namespace deleted by hand) is stopped only if it is still the program we started.
    for _name, pid in (state.get("pids") or {}).items():
        if _is_lab_process(pid):
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
    for f in [run_dir / STATE_FILE, *run_dir.glob("*.pid"), *run_dir.glob("*/*.pid")]:
        f.unlink(missing_ok=True)
    left = lab_present()
    if left:
        print(f"vrrptui lab down: could not delete {', '.join(left)}", file=sys.stderr)
        return 1
    if not quiet:
        print("lab down: namespaces and processes removed")
    return 0


def _is_lab_process(pid: int) -> bool:
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    text = b" ".join(cmdline)
    return any(word in text for word in (b"keepalived", b"vrrptui", b"ping", b"stdbuf"))


def _state(run_dir: Path) -> dict[str, Any]:
    try:
        return dict(json.loads((run_dir / STATE_FILE).read_text()))
    except (OSError, ValueError):
        return {}


def status(run_dir: Path) -> int:
    present = lab_present()
    state = _state(run_dir)
    if not present:
        print("lab: down (no vrrptui-* lab namespaces)")
        return 3
    print(f"lab: peer on dent3 = {state.get('peer', '?')}, config {state.get('config', '?')}")
    lab = make_lab(run_dir)
    print("namespaces:")
    for node, ns in NAMESPACES.items():
        mark = "up" if ns in present else "MISSING"
        print(f"  {ns:<16} {node:<7} {mark}")
    print("processes:")
    for ns in present:
        for pid in namespace_pids(ns):
            print(f"  {ns:<16} {pid:>7}  {_cmdline(pid)}")
    print("addresses:")
    for node in ("pc1", "dent2", "dent3"):
        if lab.ns(node) in present:
            addrs = sorted(lab.addresses(node, with_prefix=True))
            print(f"  {node:<6} {lab.iface(node):<7} {' '.join(addrs)}")
    holders = [r for r in ("dent2", "dent3") if lab.ns(r) in present and lab.has_vip(r, VIP)]
    verdict = {0: "nobody", 1: holders[0] if holders else ""}.get(len(holders), f"SPLIT BRAIN: {', '.join(holders)}")
    print(f"VIP {VIP} held by: {verdict}")
    ping_log = run_dir / PING_LOG
    lines = _tail(ping_log, 200)
    replies = sum(1 for line in lines if " bytes from " in line)
    lost = sum(1 for line in lines if "no answer yet" in line)
    print(f"pc1 -> {VIP} (last {len(lines)} lines of {ping_log}: {replies} replies, {lost} lost):")
    for line in lines[-5:]:
        print(f"  {line}")
    return 0


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return "?"


def _tail(path: Path, n: int) -> list[str]:
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - 200 * n))
            return f.read().decode(errors="replace").splitlines()[-n:]
    except OSError:
        return []


def peer(action: str | None, run_dir: Path) -> int:
    state = _state(run_dir)
    if action is None:
        print("vrrptui lab peer: say what to do: stop, start, freeze or thaw", file=sys.stderr)
        return 2
    if not lab_present() or not state:
        print("vrrptui lab peer: the lab is down: `vrrptui lab up` first", file=sys.stderr)
        return 1
    try:
        said = peer_action(action, make_lab(run_dir), state)
    except LabError as exc:
        print(f"vrrptui lab peer {action}: {exc}", file=sys.stderr)
        return 1
    (run_dir / STATE_FILE).write_text(json.dumps(state, indent=2) + "\n")
    print(said)
    return 0


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="vrrptui lab", description="The DENT demo topology in network namespaces.")
    parser.add_argument("action", choices=("up", "down", "status", "peer"))
    parser.add_argument("peer_action", nargs="?", choices=("stop", "start", "freeze", "thaw"),
                        help="with `peer`: SIGTERM (resign), start again, SIGSTOP (hang), SIGCONT dent3's daemon")
    parser.add_argument("--peer", choices=("vrrptui", "keepalived"), default="vrrptui",
                        help="what runs on dent3 (default: vrrptui --headless)")
    parser.add_argument("--configs", type=Path, default=None, help="directory with dent2.conf and dent3.conf")
    args = parser.parse_args(argv)
    if os.geteuid() != 0:
        print("vrrptui lab: needs root (network namespaces); run it with sudo", file=sys.stderr)
        return 1
    run_dir = _configure_from_env()
    if args.action == "up":
        return up(args.peer, (args.configs or default_config_dir()).resolve(), run_dir)
    if args.action == "down":
        return down(run_dir)
    if args.action == "peer":
        return peer(args.peer_action, run_dir)
    return status(run_dir)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
