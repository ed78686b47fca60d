"""VIPs left on the host by a daemon that was killed (kill -9, OOM, power cut of the process).

While it runs, the daemon keeps a journal of the VIPs it holds next to its per-config lock
(`<runtime dir>/net<ns>-<config hash>.vips`), with the VRRP sockets it listens on. A
restarted daemon reads it first thing, before its heavy imports and the config parse,
deletes those addresses with one rtnetlink request each (the stale VIP is gone tens of
milliseconds after the restart instead of after the whole start-up), then opens those
sockets (daemon/earlylisten.py: its Master_Down_Timer counts from then). Only while holding
the per-config lock, so a live daemon's VIPs are never touched. The runtime's own check of
every configured VIP still runs later.

    journal = VipJournal.for_config("/etc/keepalived/keepalived.conf")
    journal.listening = pool.listening                      # [(("eth0", 4, 112), True)]
    journal.write([("eth0", "192.168.1.100/24")])          # whenever the held VIPs change
    lines = remove_journalled("/etc/keepalived/keepalived.conf")   # at start-up
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from vrrptui.daemon.pidfile import PidFileError, config_claim, config_lock_path, runtime_dir

if TYPE_CHECKING:  # earlylisten (raw sockets) is imported only once the stale VIPs are gone
    from vrrptui.daemon.earlylisten import Listening

SUFFIX = ".vips"
removed_at_start: list[str] = []  # clean_up_early's log lines, for the daemon's log once it has one

JOIN = {True: "multicast", False: "unicast"}


class VipJournal:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.listening: Callable[[], Listening] = list  # the receiving sockets, recorded with the VIPs

    @classmethod
    def for_config(cls, config_path: str) -> VipJournal:
        return cls(config_lock_path(runtime_dir(), config_path).with_suffix(SUFFIX))

    def write(self, held: Iterable[tuple[str, str]]) -> None:
        """Replace the journal with `held` (interface, address/prefix) atomically; none: remove it."""
        lines = sorted({f"{ifname} {address}\n" for ifname, address in held})
        if not lines:
            self.clear()
            return
        lines += sorted(f"listen {key[0]} {key[1]} {key[2]} {JOIN[join]}\n" for key, join in self.listening())
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        try:
            os.write(fd, "".join(lines).encode())
        finally:
            os.close(fd)
        os.replace(tmp, self.path)

    def read(self) -> list[tuple[str, ipaddress.IPv4Interface | ipaddress.IPv6Interface]]:
        entries = []
        for line in self._lines():
            if len(fields := line.split()) == 2:
                with contextlib.suppress(ValueError):
                    entries.append((fields[0], ipaddress.ip_interface(fields[1])))
        return entries

    def read_listening(self) -> Listening:
        joins = {text: join for join, text in JOIN.items()}
        entries = []
        for line in self._lines():
            fields = line.split()
            if len(fields) == 5 and fields[0] == "listen" and fields[2] in ("4", "6") and fields[3].isdigit() \
                    and fields[4] in joins:
                entries.append(((fields[1], int(fields[2]), int(fields[3])), joins[fields[4]]))
        return entries

    def _lines(self) -> list[str]:
        try:
            fd = os.open(self.path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        except OSError:
            return []
        with os.fdopen(fd) as f:
            return f.read(1 << 20).splitlines()

    def clear(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()


def clean_up_early(argv: list[str]) -> None:
    """`vrrptui [daemon options]` as root: remove what the journal of this config lists, keep the lines."""
    if os.geteuid() != 0:
        return
    from vrrptui.daemon.cmdline import parse

    try:
        args = parse(argv)
    except SystemExit:
        return  # the daemon's own parse reports it
    if args.config and not args.config_test and not args.version:
        removed_at_start.extend(remove_journalled(args.config))


def remove_journalled(config_path: str) -> list[str]:
    """Delete the VIPs a dead daemon of this config (and network namespace) journalled, then listen
    where it listened; log lines to print.

    Nothing happens while another daemon holds the config's lock, or without a journal.
    """
    journal = VipJournal.for_config(config_path)
    if not journal.path.exists():
        return []
    lock = config_claim(config_path)
    try:
        lock.acquire()
    except PidFileError:
        return []  # alive: its VIPs are its own
    try:
        listening = journal.read_listening()
        lines = _remove(journal)  # clean up first
        from vrrptui.daemon import earlylisten

        earlylisten.listen(listening)
        return lines
    finally:
        lock.release()


def _remove(journal: VipJournal) -> list[str]:
    from vrrptui.net.rtaddr import AddressSocket

    lines: list[str] = []
    with AddressSocket() as rt:
        for ifname, interface in journal.read():
            index = rt.index(ifname)
            try:
                if index is not None and rt.delete(index, interface):
                    lines.append(f"removed {interface} from {ifname}, left by an earlier run (killed)")
            except OSError as exc:
                lines.append(f"cannot remove stale VIP {interface} from {ifname}: {exc.strerror or exc}")
    journal.clear()
    return lines
