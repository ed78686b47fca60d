"""The daemon's guardian: a kill -9 of vrrptui (the OOM killer, an operator) still resigns.

Once its instances are up, the daemon starts `python -P -m vrrptui.daemon.guardian FD PID CONFIG -- ARGS`:
a small process that holds the read end of a pipe whose write end only the daemon holds
(close-on-exec: no script inherits it), and reads it. It reads nothing until the daemon has
exited, however that happened; then it reads end-of-file.

- A daemon that stopped (SIGTERM, an error) has resigned, removed its VIPs and its journal
  (daemon/stale.py): there is nothing to do, and the guardian exits.
- A daemon that was killed left its journal. Under the config's lock (so never while another
  daemon of this config runs), the guardian sends the priority-0 adverts journalled for its
  masters (encoded by the daemon; the backup takes over after Skew_Time instead of
  Master_Down_Interval), removes the journalled VIPs, removes the journal, logs it as the daemon
  would (syslog or -l) and exits. A restart finds nothing left to clean.

It ignores SIGTERM, SIGINT and SIGHUP: systemd's stop signals the whole cgroup and ctrl+c the
whole process group, and the guardian ends with the daemon, never before it. A kill of both
(SIGKILL to the cgroup: `systemctl kill -s KILL vrrptui`) leaves the VIPs to the next start's clean-up.

    guardian = guard("/etc/keepalived/keepalived.conf", argv, log)   # in the daemon, once started
    guardian.stop()                                                   # as the daemon stops (if not None)
"""

from __future__ import annotations

import os
import signal
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import subprocess

    from vrrptui.daemon.stale import Resign
    from vrrptui.engine.outputs import LogFn

IGNORED = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)


class Guardian:
    """The daemon's side: the guardian's process and the pipe's write end, held until the daemon exits."""

    def __init__(self, proc: subprocess.Popen[bytes], write_end: int) -> None:
        self.proc = proc
        self.write_end = write_end

    def stop(self) -> None:
        """A clean stop (the journal is gone by then): the guardian reads end-of-file and exits."""
        import subprocess

        if self.write_end >= 0:
            os.close(self.write_end)
            self.write_end = -1
        try:
            self.proc.wait(timeout=2.0)
        except subprocess.TimeoutExpired:
            pass


def start_guardian(config: str, argv: list[str]) -> Guardian:
    """Start the guardian of this daemon, running CONFIG (an absolute path), started with ARGV (its log
    options). OSError if it cannot."""
    import subprocess  # not in the guardian itself: it only reads a pipe

    read_end, write_end = os.pipe()  # both close-on-exec; the read end is passed on to the guardian alone
    try:
        # -P: the working directory does not decide what root imports (as the reload's loader)
        proc = subprocess.Popen([sys.executable, "-P", "-m", "vrrptui.daemon.guardian", str(read_end),
                                 str(os.getpid()), config, "--", *argv], pass_fds=(read_end,), stdin=subprocess.DEVNULL)
    except BaseException:
        os.close(write_end)
        raise
    finally:
        os.close(read_end)
    return Guardian(proc, write_end)


def guard(config: str, argv: list[str], log: LogFn) -> Guardian | None:
    """start_guardian, or None with a warning in LOG when it cannot start."""
    try:
        return start_guardian(config, argv)
    except OSError as exc:
        from vrrptui.engine.outputs import LogLine

        log(LogLine(f"cannot start the guardian ({exc.strerror or exc}): after a kill -9 the VIPs stay until "
                    f"the next start", level="warning"))
        return None


def send_journalled(adverts: list[Resign]) -> list[str]:
    """Send the journalled priority-0 adverts, each from its own raw socket (net/rawopen.py: the guardian
    imports no more than _socket and _struct for it); log lines."""
    import _socket

    from vrrptui.net.rawopen import AH_PROTO, open_raw, source_pktinfo

    lines: list[str] = []
    for ifname, family, src, dst, advert, protocol in adverts:
        try:
            sock, family, ifindex = open_raw(family, ifname, join_multicast=False, protocol=protocol)
            try:
                to = (dst, 0) if family == _socket.AF_INET else (dst, 0, 0, ifindex)
                if protocol == AH_PROTO:  # a whole IPv4 datagram (IP_HDRINCL): its header names the source
                    sock.sendto(advert, to)
                else:
                    sock.sendmsg([advert], [source_pktinfo(family, _socket.inet_pton(family, src), ifindex)], 0,
                                 to)
            finally:
                sock.close()
            lines.append(f"sent priority 0 from {src} to {dst} on {ifname}")
        except (OSError, ValueError) as exc:
            lines.append(f"cannot send priority 0 from {src} to {dst} on {ifname}: {exc}")
    return lines


def main(argv: list[str]) -> int:
    """`python -P -m vrrptui.daemon.guardian FD PID CONFIG -- DAEMON ARGS`."""
    if len(argv) < 4 or argv[3] != "--" or not argv[0].isdigit() or not argv[1].isdigit() \
            or not os.path.isabs(argv[2]):
        print("usage: python -P -m vrrptui.daemon.guardian FD PID CONFIG -- DAEMON ARGS (started by the daemon)",
              file=sys.stderr)
        return 2
    for sig in IGNORED:
        signal.signal(sig, signal.SIG_IGN)
    fd, pid, config = int(argv[0]), int(argv[1]), argv[2]
    prepare()
    while True:
        try:
            if not os.read(fd, 64):
                break  # the daemon has exited: every copy of the write end is closed
        except InterruptedError:
            continue
    from vrrptui.daemon.stale import remove_journalled

    try:
        lines = remove_journalled(config, resign=send_journalled, wait=1.0)
    except Exception as exc:  # logged, as the daemon would; nothing is left to protect
        lines = [f"cannot clean up after it: {exc!r}"]
    if lines:
        log(argv[4:], [f"vrrptui pid {pid} exited without stopping (killed): its guardian resigns for it",
                       *lines])
    return 0


def prepare() -> None:
    """Import what the network work needs before the wait: a few light modules (~0.6 MB over the
    interpreter's 8). argparse and the log sinks (~6 MB) come only if there is something to log."""
    from vrrptui.daemon import stale  # noqa: F401
    from vrrptui.net import rawopen  # noqa: F401


def log(daemon_argv: list[str], lines: list[str]) -> None:
    """LINES to the daemon's log (its options: syslog, -l, -G), as warnings."""
    from vrrptui.daemon import cmdline
    from vrrptui.daemon.logsink import make_log
    from vrrptui.engine.outputs import LogLine

    sink = make_log(cmdline.parse(daemon_argv), warn=False)
    for line in lines:
        sink(LogLine(line, level="warning"))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
