"""`vrrptui lab peer stop|start|freeze|thaw`: drills on dent3's daemon without hand-copied commands.

    stop    SIGTERM: the daemon resigns (a priority-0 advert) and removes its VIP, then exits
    start   the same daemon (vrrptui or keepalived) with the same config, as `lab up` started it
    freeze  SIGSTOP to its process group: no adverts, but the VIP stays on it (a hung router)
    thaw    SIGCONT: it carries on where it stopped

The pid, and whether it is frozen, are kept in the lab's state file (lab.json).
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

from vrrptui.lab.netns import Lab, LabError

NODE = "dent3"
STOP_WAIT = 5.0  # seconds a stopped daemon has to resign and exit before it is killed


def start_daemon(lab: Lab, peer: str, conf_text: str) -> subprocess.Popen[Any]:
    """dent3's daemon: keepalived, or headless vrrptui serving /run/vrrptui (a tagged test lab: private)."""
    if peer == "keepalived":
        return lab.start_keepalived(NODE, conf_text)
    return lab.start_vrrptui(NODE, conf_text, private_runtime=bool(os.environ.get("VRRPTUI_LAB_TAG")))


def _running(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return False
    return fields[0] != "Z"


def _frozen(pid: int) -> bool:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "T"


def peer_action(action: str, lab: Lab, state: dict[str, Any]) -> str:
    """Do ACTION on dent3's daemon; returns what happened (one line), raises LabError when it cannot."""
    peer = str(state.get("peer", "vrrptui"))
    pids = dict(state.get("pids") or {})
    pid: int | None = pids.get(NODE)
    if action == "start":
        if pid is not None and _running(pid):
            raise LabError(f"{peer} already runs on {NODE} (pid {pid})" + (
                "; it is frozen: `vrrptui lab peer thaw`" if _frozen(pid) else ""))
        conf = Path(str(state.get("config", "")))
        try:
            conf_text = conf.read_text()
        except OSError as exc:
            raise LabError(f"cannot read {conf}: {exc.strerror}; `vrrptui lab up` again") from None
        proc = start_daemon(lab, peer, conf_text)
        time.sleep(0.5)
        if proc.poll() is not None:
            raise LabError(f"{peer} on {NODE} exited with {proc.returncode}:\n{lab.log(proc)[-2000:]}")
        pids[NODE] = proc.pid
        state["pids"] = pids
        state.setdefault("logs", {})[NODE] = str(proc.log_path)  # type: ignore[attr-defined]
        return f"{NODE}: {peer} started (pid {proc.pid}) with {conf}"
    if pid is None or not _running(pid):
        raise LabError(f"{peer} does not run on {NODE}: `vrrptui lab peer start`")
    if action == "stop":
        os.killpg(pid, signal.SIGCONT)  # a frozen daemon must run to resign
        os.killpg(pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_WAIT
        while _running(pid) and time.monotonic() < deadline:
            _reap(pid)
            time.sleep(0.05)
        if _running(pid):
            os.killpg(pid, signal.SIGKILL)
            return f"{NODE}: {peer} did not exit within {STOP_WAIT:.0f} s of SIGTERM: killed"
        pids[NODE] = None
        state["pids"] = pids
        return f"{NODE}: {peer} stopped (SIGTERM: resigned with priority 0, VIP removed)"
    if action == "freeze":
        os.killpg(pid, signal.SIGSTOP)
        return (f"{NODE}: {peer} frozen (SIGSTOP, pid {pid}): no adverts, the VIP stays on it; "
                "`vrrptui lab peer thaw` resumes it")
    if action == "thaw":
        os.killpg(pid, signal.SIGCONT)
        return f"{NODE}: {peer} thawed (SIGCONT, pid {pid})"
    raise LabError(f"unknown peer action {action!r}: stop, start, freeze or thaw")


def _reap(pid: int) -> None:
    """A daemon started by this process (`peer start` in the same run) is our child: collect it."""
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass
