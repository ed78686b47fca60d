"""Processes vrrptui starts (vrrp_script checks, notify scripts), and what they leave behind.

- A script runs as its user with that user's group only: the daemon's supplementary groups
  (root, adm, ...) are dropped.
- It runs in its own process group; on timeout, cancellation or daemon stop the whole group
  is killed, not only the script.
- vrrptui is a child subreaper (prctl PR_SET_CHILD_SUBREAPER): what a script daemonises is
  reparented to us instead of init, and reaped once it exits, so no zombie piles up.

Orphans are found in /proc/self/task/*/children and reaped with waitpid() on their own pid,
never waitpid(-1): asyncio waits for the scripts it started and must see their status. Only
exited children outside our own session are reaped (every script starts a session), so a
command the daemon runs and waits for itself is never touched. The process entry points
(headless service, console worker) call become_subreaper(); a library user such as a test
run stays as it is.
"""

from __future__ import annotations

import asyncio
import ctypes
import os
import signal
from pathlib import Path

from vrrptui.daemon.scriptsec import ScriptCommand

NOTIFY_TIMEOUT = 60.0  # seconds a notify script may run (keepalived has no limit) before its group is killed
REAP_PERIOD = 1.0  # seconds between two looks for exited orphans
_PR_SET_CHILD_SUBREAPER = 36

_direct: set[int] = set()  # pids asyncio waits for (our own scripts)
_spawning = 0  # scripts being started: their pid is not in _direct yet, so no reaping meanwhile
_reaping: asyncio.TimerHandle | None = None
_reaping_loop: asyncio.AbstractEventLoop | None = None
_subreaper = False


def become_subreaper() -> bool:
    """Make this process the reaper of its descendants' orphans (Linux >= 3.4)."""
    global _subreaper
    libc = ctypes.CDLL(None, use_errno=True)
    _subreaper = libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
    return _subreaper


def children() -> set[int]:
    """Our children (any thread's), as the kernel lists them."""
    found: set[int] = set()
    for task in Path(f"/proc/{os.getpid()}/task").iterdir():
        try:
            found.update(int(pid) for pid in (task / "children").read_text().split())
        except (OSError, ValueError):
            continue
    return found


def _exited_elsewhere(pid: int, session: int) -> bool:
    """A zombie child in another session than ours: what a script left behind."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return False
    return fields[0] == "Z" and int(fields[3]) != session  # state ppid pgrp session ...


def reap_orphans() -> int:
    """Reap every exited orphan a script left us (not a script asyncio waits for); returns how many."""
    if _spawning:
        return 0
    kids = children()
    _direct.intersection_update(kids)  # scripts cancelled at stop, reaped by asyncio since
    session = os.getsid(0)
    count = 0
    for pid in kids - _direct:
        if not _exited_elsewhere(pid, session):
            continue
        try:
            done, _ = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            continue
        if done:
            count += 1
    return count


def _schedule(loop: asyncio.AbstractEventLoop) -> None:
    global _reaping

    def tick() -> None:
        global _reaping
        _reaping = None
        if loop.is_closed() or loop is not _reaping_loop:
            return
        reap_orphans()
        _schedule(loop)

    _reaping = loop.call_later(REAP_PERIOD, tick)


def _start_reaping() -> None:
    """Reap on the running loop from the first script on (a new loop, e.g. after a restart, starts anew)."""
    global _reaping_loop
    loop = asyncio.get_running_loop()
    if _subreaper and (_reaping is None or _reaping_loop is not loop):
        _reaping_loop = loop
        _schedule(loop)


def kill_group(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


async def run(command: ScriptCommand, argv: tuple[str, ...], timeout: float) -> int | None:
    """Run `argv` as `command`'s user; its exit status, or None when it timed out (group killed).

    OSError if it cannot be started. Cancelling the caller kills the group too.
    """
    global _spawning
    _start_reaping()
    as_user = command.uid != 0
    _spawning += 1
    try:
        proc = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
            start_new_session=True,  # its own process group: a timeout kills its children too
            user=command.uid if as_user else None,
            group=command.gid or None,
            extra_groups=[] if as_user else None,  # no supplementary groups of the daemon's
        )
        _direct.add(proc.pid)
    finally:
        _spawning -= 1
    status: int | None
    try:
        async with asyncio.timeout(timeout):  # not wait_for: Python 3.11's drops a cancel that meets the exit
            status = await proc.wait()
    except TimeoutError:
        kill_group(proc.pid)
        await proc.wait()
        status = None
    except asyncio.CancelledError:
        kill_group(proc.pid)  # asyncio still reaps it: its pid stays ours until it is gone
        raise
    _direct.discard(proc.pid)
    return status
