"""SIGUSR1 / SIGUSR2 dumps, where keepalived's users look for them.

keepalived writes its state to /tmp/keepalived.data on SIGUSR1 and its counters to
/tmp/keepalived.stats on SIGUSR2; operators' scripts signal it and read those files.
Headless vrrptui answers the same signals with /tmp/vrrptui.data (what `vrrptui status`
prints) and /tmp/vrrptui.stats (keepalived's stats layout, then vrrptui's own counters).
$VRRPTUI_DUMP_DIR moves both files (tests, or a host whose /tmp is not for this).
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from vrrptui import safefiles
from vrrptui.daemon.control import Runtime, format_status, network_namespace_name, status_reply
from vrrptui.engine.outputs import LogFn, LogLine

DEFAULT_DUMP_DIR = "/tmp"
DATA_FILE = "vrrptui.data"
STATS_FILE = "vrrptui.stats"


def dump_dir() -> Path:
    return Path(os.environ.get("VRRPTUI_DUMP_DIR") or DEFAULT_DUMP_DIR)


def _banner(title: str, reply: dict[str, Any]) -> str:
    at = time.ctime(float(reply.get("wall", time.time())))
    return f"------< {title} of vrrptui pid {reply.get('pid')} at {at} >------"


def format_data(reply: dict[str, Any]) -> str:
    """The SIGUSR1 dump: the `vrrptui status` text of this daemon."""
    return f"{_banner('VRRP data', reply)}\n{format_status(reply)}\n"


def format_stats(reply: dict[str, Any]) -> str:
    """The SIGUSR2 dump: keepalived's per-instance layout, then the counters keepalived lacks."""
    lines = [_banner("VRRP stats", reply)]
    for inst in reply.get("instances", []):
        c = inst.get("counters", {})
        drops = c.get("drops") or {}
        lines += [
            f"VRRP Instance: {inst['name']}",
            "  Advertisements:",
            f"    Received: {c.get('adverts_received', 0)}",
            f"    Sent: {c.get('adverts_sent', 0)}",
            f"  Became master: {c.get('became_master', 0)}",
            f"  Released master: {c.get('released_master', 0)}",
            "  Packet Errors:",
            f"    Length: {drops.get('length', 0) + drops.get('short', 0) + drops.get('count', 0)}",
            f"    TTL: {drops.get('ttl', 0)}",
            f"    Invalid Type: {drops.get('type', 0)}",
            f"    Advertisement Interval: {drops.get('interval', 0)}",
            f"    Address List: {drops.get('address_list', 0)}",
            "  Authentication Errors:",
            f"    Failure: {drops.get('auth', 0)}",
            "  Priority Zero:",
            f"    Received: {c.get('priority_zero_received', 0)}",
            f"    Sent: {c.get('priority_zero_sent', 0)}",
            "  vrrptui drops:",
            *(f"    {reason}: {count}" for reason, count in sorted(drops.items())),
            "  VRRPv3 IPv4 checksum forms received:",
            f"    pseudo-header: {c.get('checksum_pseudo', 0)}",
            f"    message only: {c.get('checksum_message', 0)}",
        ]
    unclaimed = reply.get("unclaimed_drops") or {}
    lines.append("Packets no instance here claims (VRID not configured, or undecodable):")
    lines += [f"    {reason}: {count}" for reason, count in sorted(unclaimed.items())]
    return "\n".join(lines) + "\n"


def write_private(path: Path, text: str) -> None:
    """Replace `path` with `text`, readable by its owner only (keepalived's 0600).

    Written to a fresh file beside it and renamed over it: a symlink planted at a fixed
    name in /tmp is replaced, never followed.
    """
    safefiles.replace(path, text.encode())


def on_signal(kind: str, runtime: Runtime, log: LogFn) -> None:
    """SIGUSR1 (`kind` "data") or SIGUSR2 ("stats"): write the dump, say where (or why not)."""
    control = getattr(runtime, "control", None)
    reply = status_reply(runtime, control.namespace if control is not None else network_namespace_name())
    name, render = (DATA_FILE, format_data) if kind == "data" else (STATS_FILE, format_stats)
    path = dump_dir() / name
    log(LogLine(f"Printing VRRP {kind} for process({os.getpid()}) on signal: {path}"))
    try:
        write_private(path, render(reply))
    except OSError as exc:
        log(LogLine(f"cannot write {path}: {exc.strerror or exc}; set VRRPTUI_DUMP_DIR to a writable directory",
                    level="error"))
