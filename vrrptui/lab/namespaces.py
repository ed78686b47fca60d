"""Network namespaces and the processes in them: create, list, destroy; `ip` and the daemons to run."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

PREFIX = "vrrptui-"
T = TypeVar("T")

class LabError(RuntimeError):
    """A lab command failed; the message names the namespace and the command."""


def run_ip(args: Sequence[str], *, check: bool = True, input: str | None = None) -> subprocess.CompletedProcess[str]:
    """Run `ip ARGS`; on failure raise LabError with the command and ip's own message."""
    proc = subprocess.run(["ip", *args], capture_output=True, text=True, input=input)
    if check and proc.returncode != 0:
        raise LabError(f"`ip {' '.join(args)}` failed: {proc.stderr.strip() or proc.stdout.strip()}")
    return proc


def list_namespaces() -> list[str]:
    """Names of all network namespaces known to `ip netns` (ours and everyone else's)."""
    out = run_ip(["-j", "netns", "list"], check=False).stdout.strip()
    if not out:
        return []
    return [entry["name"] for entry in json.loads(out)]


def namespace_pids(ns: str) -> list[int]:
    """Pids of processes whose network namespace is NS."""
    out = run_ip(["netns", "pids", ns], check=False).stdout
    return [int(p) for p in out.split() if p.isdigit()]


def destroy_namespace(ns: str, *, grace: float = 2.0) -> None:
    """Stop every process living in NS (SIGTERM, then SIGKILL after GRACE s) and delete NS.

    Only ever called on namespaces a lab created: their processes are ours by construction.
    """
    if not ns.startswith(PREFIX):
        raise LabError(f"refusing to destroy namespace {ns!r}: lab namespaces start with {PREFIX!r}")
    if ns not in list_namespaces():
        return
    pids = namespace_pids(ns)
    for pid in pids:
        _signal_pid(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while pids and time.monotonic() < deadline:
        pids = [p for p in pids if _alive(p)]
        time.sleep(0.02)
    for pid in namespace_pids(ns):
        _signal_pid(pid, signal.SIGKILL)
    deadline = time.monotonic() + grace
    while namespace_pids(ns) and time.monotonic() < deadline:
        time.sleep(0.02)
    run_ip(["netns", "del", ns], check=False)


def _signal_pid(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie still answers kill(0); treat it as gone.
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def wait_for(pred: Callable[[], T], timeout: float, interval: float = 0.01) -> T:
    """Poll PRED until it returns something truthy or TIMEOUT s pass; return its last value."""
    deadline = time.monotonic() + timeout
    while True:
        value = pred()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(interval)


def vrrptui_command() -> list[str]:
    """The vrrptui command the lab runs: $VRRPTUI_COMMAND when set (e.g. a `pip install .` into another venv,
    as a user runs it), else the running interpreter's venv's (falls back to -m vrrptui)."""
    if os.environ.get("VRRPTUI_COMMAND"):
        return [os.environ["VRRPTUI_COMMAND"]]
    candidate = Path(sys.executable).parent / "vrrptui"
    if candidate.exists():
        return [str(candidate)]
    found = shutil.which("vrrptui")
    return [found] if found else [sys.executable, "-m", "vrrptui"]


def service_command() -> list[str]:
    """vrrptui_command() as the systemd unit runs it (daemon/install.py): the interpreter of its #! line with -S,
    then the command. The lab's daemons start so; `vrrptui status` and the like run the typed command, and so
    do the daemons with $VRRPTUI_LAB_TYPED set (benchmarks/faults.py --typed)."""
    from vrrptui.daemon.install import interpreter_of

    command = vrrptui_command()
    python = interpreter_of(command[0]) if len(command) == 1 and not os.environ.get("VRRPTUI_LAB_TYPED") else None
    return [python, "-S", command[0]] if python else command


def keepalived_binary() -> str:
    return shutil.which("keepalived") or "/usr/sbin/keepalived"
