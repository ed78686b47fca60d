"""The host the console runs on: our own CPU and memory, and other VRRP daemons (psutil)."""

from __future__ import annotations

import os
import socket

import psutil

from vrrptui.records import HostStats, OtherDaemon

VRRP_DAEMONS = ("keepalived", "vrrptui", "vrrpd", "frr-vrrpd")


def _netns(pid: int | str) -> int | None:
    try:
        return os.stat(f"/proc/{pid}/ns/net").st_ino
    except OSError:
        return None


def _daemon_name(proc: psutil.Process) -> str | None:
    try:
        name = proc.name()
        cmdline = proc.cmdline()
    except (psutil.Error, OSError):
        return None
    if name in ("keepalived", "vrrpd"):
        return name
    if name == "vrrp" or name.startswith("vrrpd"):
        return name
    # vrrptui runs as `python -m vrrptui` or the `vrrptui` script; sudo/ip-netns wrappers are not daemons.
    if name.startswith("python") or name == "vrrptui":
        if any(os.path.basename(a) == "vrrptui" or a == "vrrptui" for a in cmdline[:3]):
            return "vrrptui"
    return None


class HostMonitor:
    """Call `sample()` about once a second (it is cheap after the first process scan)."""

    def __init__(self, scan_every: int = 15) -> None:  # samples between scans for other daemons (~15 s)
        self._me = psutil.Process()
        self._me.cpu_percent(None)
        self._family = {os.getpid()} | {p.pid for p in self._me.parents()}
        self._netns = _netns("self")
        self._scan_every = scan_every
        self._count = 0
        self._others: tuple[OtherDaemon, ...] = ()
        self.hostname = socket.gethostname()

    def scan(self) -> tuple[OtherDaemon, ...]:
        family = self._family | {c.pid for c in self._me.children(recursive=True)}
        out = []
        for proc in psutil.process_iter():
            if proc.pid in family:
                continue
            name = _daemon_name(proc)
            if name is None:
                continue
            try:
                cmdline = " ".join(proc.cmdline())
            except psutil.Error:
                cmdline = ""
            ns = _netns(proc.pid)
            out.append(OtherDaemon(proc.pid, name, cmdline, ns is not None and ns == self._netns))
        return tuple(sorted(out, key=lambda o: o.pid))

    @property
    def scan_due(self) -> bool:
        """The next sample scans every process (10-20 ms); the others read this process only (~0.2 ms)."""
        return self._count % self._scan_every == 0

    def sample(self) -> HostStats:
        if self.scan_due:
            self._others = self.scan()
        self._count += 1
        with self._me.oneshot():
            cpu = self._me.cpu_percent(None)
            rss = self._me.memory_info().rss
        return HostStats(self.hostname, cpu, rss, self._others)
