"""VIPs left on the host by a daemon that was killed (kill -9, OOM, power cut of the process).

While it runs, the daemon keeps a journal of the VIPs it holds next to its per-config lock
(`<runtime dir>/net<ns>-<config hash>.vips`), with the VIPs its instances may take (`may`
lines: a kill -9 just after a takeover, before the journal is written again, still finds the
new master's VIPs listed) and the VRRP sockets it listens on. A
restarted daemon reads it first thing after the interpreter starts: `vrrptui.cli.before_site`
calls `clean_up_early` before asyncio, argparse, the config parse or anything heavy is imported
(and before site itself when the systemd unit runs the command as `PYTHON -S vrrptui`: bin/vrrptui),
and this module imports only posix, _stat, errno, fcntl, _socket and _struct (with pidfile and
net/nlmsg, which import nothing more; not os, ~1.2 ms; none of them has `from __future__ import
annotations`: it loads a module, ~0.1-0.4 ms). The stale VIPs go with one rtnetlink request each
(a few ms after the exec instead of after the whole start-up), then the journalled sockets are opened
(daemon/earlylisten.py: the Master_Down_Timer counts from then). Only while holding the
per-config lock, so a live daemon's VIPs are never touched; the runtime directory must be
ours (pidfile.check_directory), the journal a plain file read without following a link and
at most JOURNAL_MAX bytes of it. The runtime's own check of every configured VIP still runs later.

    journal = VipJournal.for_config("/etc/keepalived/keepalived.conf")
    journal.listening = pool.listening                      # [(("eth0", 4, 112), True)]
    journal.claimable = lambda: [("eth0", "192.168.1.100/24"), ("eth0", "192.168.1.101/24")]
    journal.write([("eth0", "192.168.1.100/24")])          # whenever the held VIPs or the config change
    journal.write([], closing=True)                          # at a stop, once the VIPs are removed
    lines = remove_journalled("/etc/keepalived/keepalived.conf")   # at start-up
"""

import _socket  # socket's C half: the socket module's imports (enum, selectors) cost a restart ~5 ms
import _stat
import errno
import posix  # os's C half: os itself costs a restart ~1.2 ms, and the `vrrptui` command imports it after
import sys

from vrrptui.daemon.pidfile import (
    PidFile,
    PidFileError,
    UnsafeDirectory,
    check_directory,
    config_lock_name,
    runtime_dir_name,
)
from vrrptui.net import nlmsg

TYPE_CHECKING = False  # typing itself costs a restart ~3 ms before the stale VIPs are gone (mypy reads it as True)
if TYPE_CHECKING:  # nor pathlib, nor earlylisten (raw sockets), imported only once the stale VIPs are gone
    from collections.abc import Callable, Iterable
    from pathlib import Path

    from vrrptui.daemon.earlylisten import Listening

    Resign = tuple[str, int, str, str, bytes, int]  # interface, family (4/6), source, destination, the advert,
    # its IP protocol: 112, or 51 for auth_type AH (the advert is then a whole IPv4 datagram)
    Resigner = Callable[[list[Resign]], list[str]]

SUFFIX = ".vips"
JOURNAL_MAX = 1 << 20  # bytes of a journal read: a few lines per VIP and socket
removed_at_start: list[str] = []  # clean_up_early's log lines, for the daemon's log once it has one

JOIN = {True: "multicast", False: "unicast"}
Held = tuple[str, str, int, bytes, int]  # interface, "address/prefix" as written, family, packed address, prefix


class VipJournal:
    def __init__(self, path: "str | Path") -> None:
        self.path = path
        self.listening: Callable[[], Listening] = list  # the receiving sockets, recorded with the VIPs
        self.resigning: Callable[[], list[Resign]] = list  # the masters' priority-0 adverts, for the guardian
        self.claimable: Callable[[], Iterable[tuple[str, str]]] = list  # VIPs the instances may add (`may`)

    @classmethod
    def for_config(cls, config_path: str) -> "VipJournal":
        from pathlib import Path

        return cls(Path(journal_path(config_path)))

    def write(self, held: "Iterable[tuple[str, str]]", closing: bool = False) -> None:
        """Replace the journal with `held` (interface, address/prefix) and the claimable VIPs not held,
        atomically. Nothing to list (CLOSING: the daemon stops, and only what it could not remove is listed):
        remove it."""
        held_set = {(ifname, address) for ifname, address in held}
        may = set() if closing else {(ifname, address) for ifname, address in self.claimable()} - held_set
        if not held_set and not may:
            self.clear()
            return
        lines = sorted(f"{ifname} {address}\n" for ifname, address in held_set)
        lines += sorted(f"may {ifname} {address}\n" for ifname, address in may)
        lines += sorted(f"listen {key[0]} {key[1]} {key[2]} {JOIN[join]}\n" for key, join in self.listening())
        lines += [f"resign {ifname} {family} {src} {dst} {advert.hex()} {protocol}\n"
                  for ifname, family, src, dst, advert, protocol in self.resigning()]
        head, slash, name = str(self.path).rpartition("/")
        tmp = f"{head}{slash}.{name}.{posix.getpid()}"
        fd = posix.open(tmp, posix.O_WRONLY | posix.O_CREAT | posix.O_TRUNC | posix.O_NOFOLLOW | posix.O_CLOEXEC, 0o600)
        try:
            posix.write(fd, "".join(lines).encode())
        finally:
            posix.close(fd)
        posix.replace(tmp, self.path)

    def read(self) -> list[Held]:
        """The VIPs held, each checked: a line that is not `IFNAME ADDRESS/PREFIX` is skipped."""
        return _held_in(self._fields())

    def read_claimable(self) -> list[Held]:
        """The VIPs the instances could have added by then (`may IFNAME ADDRESS/PREFIX` lines), checked."""
        return _claimable_in(self._fields())

    def read_all(self) -> list[Held]:
        """The held VIPs, then the claimable ones (`write` lists none as both), from one reading."""
        return _all_in(self._fields())

    def read_listening(self) -> "Listening":
        return _listening_in(self._fields())

    def read_resigns(self) -> "list[Resign]":
        """The priority-0 adverts written (daemon/guardian.py sends them): lines `resign IFNAME 4|6 SRC DST HEX
        PROTOCOL` (112; 51 for AH, IPv4 only); without PROTOCOL (an earlier version's journal) 112."""
        entries: list[Resign] = []
        for line in self._lines():
            fields = line.split()
            if len(fields) not in (6, 7) or fields[0] != "resign" or fields[2] not in ("4", "6"):
                continue
            protocol = fields[6] if len(fields) == 7 else "112"
            if protocol not in ("112", "51") or (protocol == "51" and fields[2] != "4"):
                continue
            try:
                entries.append((fields[1], int(fields[2]), fields[3], fields[4], bytes.fromhex(fields[5]),
                                int(protocol)))
            except ValueError:
                continue
        return entries

    def _fields(self) -> list[list[str]]:
        return [line.split() for line in self._lines()]

    def _lines(self) -> list[str]:
        """The journal's lines: a plain file (no link, no FIFO), at most JOURNAL_MAX bytes of it."""
        try:
            fd = posix.open(self.path, posix.O_RDONLY | posix.O_NOFOLLOW | posix.O_CLOEXEC | posix.O_NONBLOCK)
        except OSError:
            return []
        try:
            if not _stat.S_ISREG(posix.fstat(fd).st_mode):
                return []
            return posix.read(fd, JOURNAL_MAX).decode(errors="replace").splitlines()
        finally:
            posix.close(fd)

    def clear(self) -> None:
        try:
            posix.unlink(self.path)
        except FileNotFoundError:
            pass


def _all_in(lines: list[list[str]]) -> list[Held]:
    return _held_in(lines) + _claimable_in(lines)


def _listening_in(lines: list[list[str]]) -> "Listening":
    joins = {text: join for join, text in JOIN.items()}
    return [((fields[1], int(fields[2]), int(fields[3])), joins[fields[4]]) for fields in lines
            if len(fields) == 5 and fields[0] == "listen" and fields[2] in ("4", "6") and fields[3].isdigit()
            and fields[4] in joins]


def _held_in(lines: list[list[str]]) -> list[Held]:
    return [held for fields in lines if len(fields) == 2 for held in _held(fields[0], fields[1])]


def _claimable_in(lines: list[list[str]]) -> list[Held]:
    return [held for fields in lines if len(fields) == 3 and fields[0] == "may" for held in _held(fields[1], fields[2])]


def _held(ifname: str, written: str) -> list[Held]:
    """[the VIP] of a journal line's IFNAME ADDRESS/PREFIX, or [] when they are not one."""
    address, _, prefix = written.partition("/")
    family = _socket.AF_INET6 if ":" in address else _socket.AF_INET
    try:
        packed = _socket.inet_pton(family, address)
    except OSError:
        return []
    if prefix.isascii() and prefix.isdigit() and int(prefix) <= 8 * len(packed):
        return [(ifname, written, family, packed, int(prefix))]
    return []


def journal_path(config_path: str) -> str:
    return f"{runtime_dir_name()}/{_journal_name(config_lock_name(config_path))}"


def _journal_name(lock_name: str) -> str:
    return lock_name.removesuffix(".pid") + SUFFIX


def clean_up_early(argv: list[str]) -> bool:
    """`vrrptui [daemon options]` as root: remove what the journal of this config lists, keep the lines.

    False when it must wait for site (the command run as `PYTHON -S vrrptui`, bin/vrrptui): a command
    line only argparse reads for sure, whose checks may import installed packages (prometheus_client).
    """
    if posix.geteuid() != 0:
        return True
    try:
        config = daemon_config(argv)
    except ValueError:  # a form only argparse knows for sure
        if "site" not in sys.modules:
            return False
        from vrrptui.daemon.cmdline import parse

        try:
            args = parse(argv)
        except SystemExit:
            return True  # the daemon's own parse reports it
        config = None if args.config_test or args.version or args.signum is not None else args.config
    if config is not None:
        removed_at_start.extend(remove_journalled(config))
    return True


# The daemon's options (cmdline.build_parser) as its plain forms use them: -f CONF, -fCONF, --use-file=CONF,
# flags clustered (-nlD). The rest (a refused or abbreviated option, `--`) is ValueError. Values are checked
# by cmdline.parse afterwards: one it refuses stops the start after a dead run's VIPs went, which is as well.
SHORT_FLAGS = "nlDGPBR"
SHORT_VALUES = "fpricbSu"
LONG_FLAGS = {"--dont-fork", "--log-console", "--log-detail", "--no-syslog", "--vrrp", "--no_bfd", "--dont-respawn",
              "--headless", "--no-control"}
LONG_VALUES = {"--use-file", "--pid", "--vrrp_pid", "--config-id", "--checkers_pid", "--bfd_pid", "--syslog-socket",
               "--syslog-ident", "--log-facility", "--umask", "--metrics", "--drills", "--control"}
NO_DAEMON = {"-t", "-v", "-h", "--config-test", "--version", "--signum", "--help"}  # the daemon does not start
DEFAULT_CONF = "/etc/keepalived/keepalived.conf"


def daemon_config(argv: list[str]) -> str | None:
    """The config a daemon started with ARGV runs; None when it runs none (-t, -v, --signum, -h).

    ValueError when ARGV is not plainly valid: then only argparse (cmdline.parse) can say.
    """
    positional: list[str] = []
    use_file = None
    words = iter(argv)
    for word in words:
        if not word.startswith("-") or word == "-":
            if word == "-" or positional:
                raise ValueError(word)
            positional.append(word)
            continue
        if word.startswith("--"):
            name, eq, value = word.partition("=")
            if name in NO_DAEMON:
                return None
            if name in LONG_FLAGS and not eq:
                continue
            if name not in LONG_VALUES:
                raise ValueError(word)
            value = value if eq else _value(next(words, None))
            if name == "--use-file":
                use_file = value
            continue
        for i, ch in enumerate(word[1:], 1):
            if f"-{ch}" in NO_DAEMON:
                return None
            if ch in SHORT_FLAGS:
                continue
            if ch not in SHORT_VALUES:
                raise ValueError(word)
            value = word[i + 1:] or _value(next(words, None))
            if ch == "f":
                use_file = value
            break
    if positional and use_file is not None and positional[0] != use_file:
        raise ValueError("two config files")
    return use_file or (positional[0] if positional else DEFAULT_CONF)


def _value(word: str | None) -> str:
    if word is None or word.startswith("-"):
        raise ValueError("an option without its value")
    return word


def remove_journalled(config_path: str, resign: "Resigner | None" = None, wait: float = 0.0) -> list[str]:
    """Delete the VIPs a dead daemon of this config (and network namespace) journalled, then listen
    where it listened; log lines to print. With RESIGN (the guardian, daemon/guardian.py), its masters'
    journalled priority-0 adverts are handed to it first, and nothing is opened to listen.

    Nothing happens while another daemon holds the config's lock (tried again for WAIT seconds),
    without a journal, or in a runtime directory that is not ours.
    """
    directory = runtime_dir_name()
    lock_name = config_lock_name(config_path)
    journal = VipJournal(f"{directory}/{_journal_name(lock_name)}")
    try:
        posix.lstat(journal.path)
    except OSError:
        return []
    try:
        check_directory(directory)
    except UnsafeDirectory:
        return []  # the daemon's own claim of its lock says why
    lock = PidFile(f"{directory}/{lock_name}",
                   f"config {config_path} in this network namespace")
    try:
        lock.acquire(wait)
    except PidFileError:
        return []  # alive: its VIPs are its own
    try:
        if resign is not None:
            lines = resign(journal.read_resigns())
            return lines + _remove(journal, journal.read_all())
        fields = journal._fields()  # one reading
        lines = _remove(journal, _all_in(fields))  # clean up first
        listening = _listening_in(fields)
        from vrrptui.daemon import earlylisten

        earlylisten.listen(listening)
        return lines
    finally:
        lock.release()


def _remove(journal: VipJournal, vips: list[Held]) -> list[str]:
    """One RTM_DELADDR per journalled VIP, held or claimable (one the instances may have added after the
    journal was last written: none is left but by a run that died), on a netlink socket of this namespace;
    the journal goes. Only the VIPs that were there are logged."""
    lines: list[str] = []
    sock = _socket.socket(_socket.AF_NETLINK, _socket.SOCK_RAW | _socket.SOCK_CLOEXEC, nlmsg.NETLINK_ROUTE)
    try:
        sock.bind((0, 0))  # no timeout: nlmsg.receive() bounds the wait
        for seq, (ifname, written, family, packed, prefixlen) in enumerate(vips, 1):
            try:
                index = _socket.if_nametoindex(ifname)
            except (OSError, ValueError):
                continue  # no such interface (any more): nothing of it to remove
            try:
                code = nlmsg.exchange(sock, seq, nlmsg.RTM_DELADDR, 0,
                                      nlmsg.address_body(family, prefixlen, 0, index, packed))
            except OSError as exc:
                code = exc.errno or errno.EIO
            if code == 0 or isinstance(code, bytes):
                lines.append(f"removed {written} from {ifname}, left by an earlier run (killed)")
            elif code not in (errno.EADDRNOTAVAIL, errno.ENODEV):
                lines.append(f"cannot remove stale VIP {written} from {ifname}: {posix.strerror(code)}")
    finally:
        sock.close()
    journal.clear()
    return lines
