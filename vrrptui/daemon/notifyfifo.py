"""notify_fifo / vrrp_notify_fifo: keepalived's notify events as lines on a FIFO.

Each event is one line, as keepalived writes it: `INSTANCE "VI_1" MASTER 100`,
`GROUP "VG_1" BACKUP 0`, `INSTANCE "VI_1" MASTER_RX_LOWER_PRI 100`, `INSTANCE "VI_1" STOP 0`
at exit, and with notify_priority_changes `INSTANCE "VI_1" MASTER_PRIORITY 90` (BACKUP_PRIORITY
in any other state) when the effective priority changes. The FIFO is created (mode 0600) when
absent, never followed through a symlink, and opened read-write and non-blocking as keepalived
does, so the daemon never waits for a reader; a line that does not fit in the pipe is dropped
with a log line rather than stalling the engine.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Callable

from vrrptui.daemon.scriptsec import check_directory_of
from vrrptui.engine.outputs import LogLine

LogFn = Callable[[LogLine], None]


class NotifyFifo:
    def __init__(self, path: str, log: LogFn) -> None:
        self.path = path
        self._log = log
        self._fd: int | None = None
        check_directory_of(path)  # O_NOFOLLOW guards the last component only
        try:
            os.mkfifo(path, 0o600)
        except FileExistsError:
            pass
        flags = os.O_RDWR | os.O_NONBLOCK | os.O_CLOEXEC | os.O_NOFOLLOW
        fd = os.open(path, flags)
        if not stat.S_ISFIFO(os.fstat(fd).st_mode):
            os.close(fd)
            raise OSError(errno.EINVAL, f"{path} exists and is not a FIFO")
        self._fd = fd

    def write(self, line: str) -> None:
        if self._fd is None:
            return
        data = (line + "\n").encode()
        try:
            os.write(self._fd, data)
        except BlockingIOError:
            self._log(LogLine(f"notify FIFO {self.path} is full: '{line}' dropped", level="warning"))
        except OSError as exc:
            self._log(LogLine(f"cannot write to notify FIFO {self.path}: {exc.strerror}", level="error"))

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def instance_line(name: str, state: str, priority: int) -> str:
    return f'INSTANCE "{name}" {state} {priority}'


def group_line(name: str, state: str) -> str:
    return f'GROUP "{name}" {state} 0'
