"""Log to syslog the way keepalived does: daemon facility, ident `Keepalived_vrrp`, pid.

A `log` callable for the Runtime, like ConsoleLog, that sends each line as one datagram
to the local syslog socket (/dev/log) in the format glibc's syslog() uses:
`<PRI>Mmm dd hh:mm:ss IDENT[PID]: TEXT`. Detail lines need -D, as on the console.
The socket is reopened after a syslog daemon restart. It is non-blocking: when the
syslog daemon falls behind, lines are dropped and counted (a stalled syslog must never
stall VRRP), and the next line that gets through says how many were lost.
"""

from __future__ import annotations

import os
import socket
import threading
import time

from vrrptui.config.model import shown
from vrrptui.engine.outputs import LogLine

DEFAULT_SOCKET = "/dev/log"
DEFAULT_IDENT = "Keepalived_vrrp"  # keepalived's VRRP process: what rsyslog filters already match
FACILITIES = {"kern": 0, "user": 1, "daemon": 3, **{f"local{n}": 16 + n for n in range(8)}}
SEVERITY = {"error": 3, "warning": 4, "info": 6}
MAX_DATAGRAM = 8192


def parse_facility(text: str) -> int:
    """keepalived's -S: 0-7 (local0-local7), local0-local7, user or daemon."""
    if text.isdigit() and 0 <= int(text) <= 7:
        return FACILITIES[f"local{text}"]
    if text in FACILITIES and text != "kern":
        return FACILITIES[text]
    raise ValueError(f"unknown syslog facility {text!r}: use 0-7, local0-local7, user or daemon")


class SyslogLog:
    def __init__(self, *, socket_path: str = DEFAULT_SOCKET, ident: str = DEFAULT_IDENT,
                 facility: int = FACILITIES["daemon"], detail: bool = False) -> None:
        self.socket_path = socket_path
        self.ident = ident
        self.facility = facility
        self.detail = detail
        self._sock: socket.socket | None = None
        self._lock = threading.Lock()
        self.dropped = 0

    def __call__(self, line: LogLine) -> None:
        if line.detail and not self.detail:
            return
        with self._lock:
            if self.dropped and self._send(self._format(f"{self.dropped} log lines dropped: syslog fell behind",
                                                        "warning")):
                self.dropped = 0
            if not self._send(self._format(line.text, line.level)):
                self.dropped += 1

    def _format(self, text: str, level: str) -> bytes:
        pri = self.facility * 8 + SEVERITY.get(level, 6)
        stamp = time.strftime("%b %e %H:%M:%S")
        text = shown(text)  # a name from the config may carry an escape sequence
        return f"<{pri}>{stamp} {self.ident}[{os.getpid()}]: {text}".encode(errors="replace")[:MAX_DATAGRAM]

    def _send(self, data: bytes) -> bool:
        for _attempt in range(2):
            try:
                self._connected().send(data)
                return True
            except BlockingIOError:
                return False
            except OSError:
                self._close()
        return False

    def info(self, text: str) -> None:
        self(LogLine(text))

    def _connected(self) -> socket.socket:
        if self._sock is None:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC | socket.SOCK_NONBLOCK)
            try:
                sock.connect(self.socket_path)
            except OSError:
                sock.close()
                raise
            self._sock = sock
        return self._sock

    def _close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def close(self) -> None:
        with self._lock:
            self._close()
