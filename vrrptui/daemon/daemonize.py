"""Detach like keepalived without -n: fork, setsid, fork again, stdio on /dev/null.

The command the operator typed waits until the detached daemon says its instances are
up (exit 0) or why it could not start (the reason on stderr, exit 1), over a pipe.
"""

from __future__ import annotations

import os
import sys


class ReadyPipe:
    """The detached daemon's end: ready() once started, failed(reason) otherwise."""

    def __init__(self, fd: int) -> None:
        self.fd: int | None = fd

    def ready(self) -> None:
        self._send(b"R")

    def failed(self, reason: str) -> None:
        self._send(b"E" + reason.encode(errors="replace"))

    def _send(self, data: bytes) -> None:
        if self.fd is None:
            return
        try:
            os.write(self.fd, data)
        except OSError:
            pass
        os.close(self.fd)
        self.fd = None


def daemonize() -> ReadyPipe:
    """Returns in the detached grandchild only; the calling process exits with its verdict."""
    sys.stdout.flush()
    sys.stderr.flush()
    read_end, write_end = os.pipe()
    if os.fork() > 0:
        os.close(write_end)
        _wait_for_verdict(read_end)
    os.close(read_end)
    os.setsid()
    if os.fork() > 0:
        os._exit(0)
    os.chdir("/")
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    if null > 2:
        os.close(null)
    os.set_inheritable(write_end, False)
    return ReadyPipe(write_end)


def _wait_for_verdict(fd: int) -> None:
    data = b""
    while True:
        chunk = os.read(fd, 4096)
        if not chunk:
            break
        data += chunk
    if data.startswith(b"R"):
        os._exit(0)
    reason = data[1:].decode(errors="replace") if data else "the daemon exited before its instances were up"
    os.write(2, f"vrrptui: {reason}\n".encode())
    os._exit(1)
