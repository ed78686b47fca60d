"""vrrp_track_process: is the quorum of matching processes running? Fed to the engine on change.

/proc is scanned every POLL seconds, and only when some instance tracks a process (keepalived
listens to the kernel's process connector instead). A process matches on its name
(/proc/PID/comm) unless the track_process gives parameters or `full_command`, then on its
command line. Zombies do not count, as in keepalived. fork_delay / terminate_delay hold a change
back until it has lasted that long.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable

from vrrptui.config.model import Config, TrackProcessDef
from vrrptui.engine.outputs import LogLine

POLL = 0.25  # seconds between scans of /proc
COMM_LEN = 15  # the kernel keeps 15 characters of a process name

LogFn = Callable[[LogLine], None]
StateFn = Callable[[str, bool], None]  # (vrrp_track_process name, quorum met)


def _read(path: str) -> bytes | None:
    try:
        with open(path, "rb") as f:
            return f.read(65536)
    except OSError:
        return None


def running(proc: str = "/proc", need_cmdline: bool = False) -> list[tuple[str, tuple[str, ...]]]:
    """(name, argv) of every live (non-zombie) process; argv empty unless `need_cmdline`."""
    found = []
    for entry in os.listdir(proc):
        if not entry.isdigit():
            continue
        stat = _read(f"{proc}/{entry}/stat")
        if stat is None:
            continue
        text = stat.decode(errors="replace")
        name, _, rest = text[text.find("(") + 1:].rpartition(")")
        if rest.split()[:1] == ["Z"]:
            continue
        argv: tuple[str, ...] = ()
        if need_cmdline:
            raw = _read(f"{proc}/{entry}/cmdline") or b""
            argv = tuple(part.decode(errors="replace") for part in raw.split(b"\0") if part)
        found.append((name, argv))
    return found


def matches(definition: TrackProcessDef, name: str, argv: tuple[str, ...]) -> bool:
    if not definition.params and not definition.full_command and definition.param_match is None:
        return name == definition.process[:COMM_LEN]
    if not argv or argv[0] != definition.process:
        return False
    params, wanted = argv[1:], definition.params
    if definition.param_match is None:
        return params == wanted
    if len(params) < len(wanted):
        return False
    if definition.param_match == "partial":
        return params[:len(wanted)] == wanted
    # initial: the first n-1 exactly, the last one a prefix
    return params[:len(wanted) - 1] == wanted[:-1] and (not wanted or params[len(wanted) - 1].startswith(wanted[-1]))


class ProcessWatch:
    def __init__(self, on_state: StateFn, log: LogFn, clock: Callable[[], float] = time.monotonic) -> None:
        self._on_state = on_state
        self._log = log
        self._clock = clock
        self._defs: dict[str, TrackProcessDef] = {}
        self._reported: dict[str, bool] = {}
        self._pending: dict[str, float] = {}  # name -> since when the other state has held
        self._handle: asyncio.TimerHandle | None = None

    def start(self, config: Config, loop: asyncio.AbstractEventLoop) -> None:
        self.replace(config)
        self._handle = loop.call_later(POLL, self._poll, loop)

    def replace(self, config: Config) -> None:
        self._defs = {d.name: d for d in config.track_processes}
        self._reported = {n: ok for n, ok in self._reported.items() if n in self._defs}
        self._pending = {}
        self.scan(initial=True)

    def scan(self, initial: bool = False) -> None:
        if not self._defs:
            return
        processes = running(need_cmdline=any(d.params or d.full_command or d.param_match for d in self._defs.values()))
        now = self._clock()
        for name, definition in self._defs.items():
            count = sum(1 for pname, argv in processes if matches(definition, pname, argv))
            ok = definition.quorum <= count and (definition.quorum_max is None or count <= definition.quorum_max)
            if name not in self._reported:
                self._report(name, ok)  # at start-up keepalived takes the state as it is
                continue
            if ok == self._reported[name]:
                self._pending.pop(name, None)
                continue
            since = self._pending.setdefault(name, now)
            delay = definition.fork_delay if ok else definition.terminate_delay
            if initial or now - since >= delay:
                self._report(name, ok)

    def _report(self, name: str, ok: bool) -> None:
        self._reported[name] = ok
        self._pending.pop(name, None)
        self._on_state(name, ok)

    def _poll(self, loop: asyncio.AbstractEventLoop) -> None:
        self.scan()
        self._handle = loop.call_later(POLL, self._poll, loop)

    def stop(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
