"""Log output the way `keepalived -n -l` prints it: `Mon Nov 23 11:42:05 2026: TEXT`.

The engine and the runtime produce `LogLine`s (keepalived-2.x wording); this module
only decides whether a line is shown (`detail` lines need --log-detail, like
keepalived's -D) and stamps it with keepalived's console timestamp.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from typing import TYPE_CHECKING, TextIO

from vrrptui.config.model import shown
from vrrptui.engine.outputs import LogFn, LogLine

if TYPE_CHECKING:
    import argparse


def keepalived_timestamp(epoch: float | None = None) -> str:
    """keepalived's console prefix: ctime() without the newline (`Mon Nov 23 11:42:05 2026`)."""
    return time.ctime(time.time() if epoch is None else epoch)


class ConsoleLog:
    """A `log` callable for the Runtime that writes timestamped lines to a stream.

    Thread-safe (the console may log from its UI thread while the runtime logs from its own).
    """

    def __init__(self, stream: TextIO | None = None, *, detail: bool = False) -> None:
        self.stream = stream if stream is not None else sys.stdout
        self.detail = detail
        self._lock = threading.Lock()

    def __call__(self, line: LogLine) -> None:
        if line.detail and not self.detail:
            return
        text = f"{keepalived_timestamp()}: {shown(line.text)}\n"  # no escape sequence reaches the terminal
        with self._lock:
            try:
                self.stream.write(text)
                self.stream.flush()
            except (OSError, ValueError):  # closed pipe / stream: logging must never stop the daemon
                pass

    def info(self, text: str) -> None:
        self(LogLine(text))


def discard(_line: LogLine) -> None:
    """A `log` that drops everything (tests that only look at the wire)."""


def make_log(args: argparse.Namespace, warn: bool = True) -> LogFn:
    """The daemon's log as its options say (-l, -G, syslog); WARN: tell stderr when syslog is not there."""
    from vrrptui.daemon.syslog import SyslogLog

    if args.log_console:
        return ConsoleLog(sys.stdout, detail=args.log_detail)
    if args.no_syslog:
        return discard
    if warn and not os.path.exists(args.syslog_socket):
        print(f"vrrptui: warning: no syslog socket at {args.syslog_socket}: log lines are lost until one "
              f"appears; use -l to log to the console", file=sys.stderr)
    return SyslogLog(socket_path=args.syslog_socket, ident=args.syslog_ident, facility=args.facility,
                     detail=args.log_detail)
