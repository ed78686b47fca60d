"""systemd's sd_notify protocol: one datagram per state change to $NOTIFY_SOCKET.

    notifier = Notifier.from_environment()     # None when not started by systemd (Type=notify)
    notifier.send(READY=1, STATUS="2 instances: 1 MASTER, 1 BACKUP")

$NOTIFY_SOCKET is a filesystem path or, starting with '@', an abstract socket. It is
removed from the environment so notify and track scripts never inherit it. Sending
never raises: a dead supervisor must not stop the router.
"""

from __future__ import annotations

import os
import socket
from collections import Counter
from collections.abc import Iterable

from vrrptui.engine.status import InstanceStatus

STATES = ("MASTER", "BACKUP", "FAULT", "INIT")


class Notifier:
    def __init__(self, address: str) -> None:
        self.address = "\0" + address[1:] if address.startswith("@") else address
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
        self.last_status: str | None = None

    @classmethod
    def from_environment(cls) -> Notifier | None:
        address = os.environ.pop("NOTIFY_SOCKET", "")
        return cls(address) if address.startswith(("/", "@")) else None

    def send(self, **fields: object) -> None:
        message = "\n".join(f"{k}={v}" for k, v in fields.items()).encode()
        try:
            self.sock.sendto(message, self.address)
        except OSError:
            pass

    def status(self, statuses: Iterable[InstanceStatus]) -> None:
        """STATUS=, only when the line changed."""
        line = status_line(statuses)
        if line != self.last_status:
            self.last_status = line
            self.send(STATUS=line)

    def close(self) -> None:
        self.sock.close()


def status_line(statuses: Iterable[InstanceStatus]) -> str:
    """`2 instances: 1 MASTER, 1 BACKUP` (states in a fixed order, only those present)."""
    states = Counter(s.state for s in statuses)
    total = sum(states.values())
    parts = [f"{states[s]} {s}" for s in STATES if states[s]]
    parts += [f"{n} {s}" for s, n in sorted(states.items()) if s not in STATES]
    noun = "instance" if total == 1 else "instances"
    return f"{total} {noun}: {', '.join(parts)}" if parts else f"0 {noun}"
