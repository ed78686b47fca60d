"""VRRP sockets opened early in start-up, so the Master_Down_Timer counts from when the daemon listens.

RFC 5798 6.4.1 starts a backup's Master_Down_Timer at start-up: it stands for the time the
router has listened without hearing a master. Python's start-up (imports, the config parse,
netlink) takes a few hundred ms, so the receiving sockets are opened as soon as they are
known: from the journal of a killed run, first thing (daemon/stale.py), else right after the
config parse (service.py). The runtime's socket pool adopts them and the engine starts at the
time the last one it needs was opened; the adverts queued on them meanwhile are read before
the first timer can fire. An advert read late resets the timer later than it would have been:
the takeover can come late, never early.

    listen([(("eth0", 4, 112), True)])       # (interface, family, IP protocol), join the group
    sock = take(("eth0", 4, 112), True)      # the pool's; None: open one now
    close_rest()                             # once the pool has what it needs
"""

import time

from vrrptui.net.rawopen import open_raw

TYPE_CHECKING = False  # a restart listens before typing, socket or ipaddress are imported (mypy reads True)
if TYPE_CHECKING:
    import _socket
    from collections.abc import Iterable

    from vrrptui.net.sockets import VrrpSocket

SocketKey = tuple[str, int, int]  # (interface, IP family, IP protocol): one receiving socket
Listening = list[tuple[SocketKey, bool]]  # each with whether it joined the VRRP group

_opened: "dict[tuple[SocketKey, bool], tuple[_socket.socket, int, int, float]]" = {}  # what VrrpSocket adopts


def listen(wanted: "Iterable[tuple[SocketKey, bool]]") -> None:
    """Open a receiving socket for each (key, join multicast) not open yet; one that fails is left to the pool."""
    for key, join in wanted:
        if (key, join) in _opened:
            continue
        try:
            _opened[key, join] = (*open_raw(key[1], key[0], join_multicast=join, protocol=key[2]), time.monotonic())
        except (OSError, ValueError):
            continue  # the pool opens it again and says why


def take(key: SocketKey, join: bool) -> "VrrpSocket | None":
    opened = _opened.pop((key, join), None)
    if opened is None:
        return None
    from vrrptui.net.sockets import VrrpSocket

    return VrrpSocket(key[1], key[0], join_multicast=join, protocol=key[2], opened=opened)


def close_rest() -> None:
    while _opened:
        _opened.popitem()[1][0].close()
