"""Pid files (locks, no symlink follow), sd_notify and syslog datagrams against sockets the test binds."""

from __future__ import annotations

import hashlib
import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from vrrptui.daemon.pidfile import PidFile, PidFileError, config_lock_path
from vrrptui.daemon.sdnotify import Notifier, status_line
from vrrptui.daemon.syslog import SyslogLog
from vrrptui.engine.outputs import LogLine


def bound_datagram_socket(path: Path) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(path))
    sock.settimeout(5)
    return sock


def test_pid_file_holds_our_pid_and_a_second_holder_is_refused_naming_the_first(tmp_path: Path) -> None:
    path = tmp_path / "vrrptui.pid"
    first = PidFile(path)
    first.acquire()
    assert path.read_text() == f"{os.getpid()}\n"
    # another process: flock conflicts between open file descriptions, so try from a child
    code = ("import sys; from vrrptui.daemon.pidfile import PidFile, PidFileError\n"
            f"try:\n    PidFile({str(path)!r}).acquire()\nexcept PidFileError as e:\n    print(e); sys.exit(3)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30)
    assert out.returncode == 3
    assert f"another vrrptui (pid {os.getpid()}) already runs with pid file {path}" in out.stdout
    first.release()
    assert not path.exists()
    again = PidFile(path)
    again.acquire()  # free once released
    again.release()


def test_pid_file_never_follows_a_symlink(tmp_path: Path) -> None:
    target = tmp_path / "precious"
    target.write_text("keep me\n")
    link = tmp_path / "vrrptui.pid"
    link.symlink_to(target)
    with pytest.raises(PidFileError, match="symlink"):
        PidFile(link).acquire()
    assert target.read_text() == "keep me\n"


def test_pid_file_with_a_second_hard_link_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "vrrptui.pid"
    path.write_text("")
    os.link(path, tmp_path / "other")
    with pytest.raises(PidFileError, match="single link"):
        PidFile(path).acquire()


def test_config_lock_depends_on_the_config_s_real_path(tmp_path: Path) -> None:
    conf = tmp_path / "k.conf"
    conf.write_text("")
    (tmp_path / "alias.conf").symlink_to(conf)
    assert config_lock_path(tmp_path, str(conf)) == config_lock_path(tmp_path, str(tmp_path / "alias.conf"))
    assert config_lock_path(tmp_path, str(conf)) != config_lock_path(tmp_path, str(tmp_path / "other.conf"))
    # the name running daemons already hold: SHA-256 of the real path (the builtin digest, not OpenSSL's)
    digest = hashlib.sha256(str(conf.resolve()).encode()).hexdigest()[:16]
    assert config_lock_path(tmp_path, str(conf)).name == f"net{os.stat('/proc/self/ns/net').st_ino}-{digest}.pid"


def test_sd_notify_sends_datagrams_and_takes_notify_socket_out_of_the_environment(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    receiver = bound_datagram_socket(tmp_path / "notify")
    monkeypatch.setenv("NOTIFY_SOCKET", str(tmp_path / "notify"))
    notifier = Notifier.from_environment()
    assert notifier is not None and "NOTIFY_SOCKET" not in os.environ
    notifier.send(READY=1, STATUS="1 instance: 1 MASTER")
    assert receiver.recv(4096) == b"READY=1\nSTATUS=1 instance: 1 MASTER"
    receiver.close()
    notifier.send(STOPPING=1)  # the supervisor went away: never raises
    monkeypatch.setenv("NOTIFY_SOCKET", "")
    assert Notifier.from_environment() is None


def test_status_line_counts_states_in_a_fixed_order() -> None:
    class S:
        def __init__(self, state: str) -> None:
            self.state = state

    assert status_line([S("BACKUP"), S("MASTER")]) == "2 instances: 1 MASTER, 1 BACKUP"  # type: ignore[list-item]
    assert status_line([S("FAULT")]) == "1 instance: 1 FAULT"  # type: ignore[list-item]
    assert status_line([]) == "0 instances"


def test_syslog_lines_are_glibc_format_daemon_facility_keepalived_ident(tmp_path: Path) -> None:
    receiver = bound_datagram_socket(tmp_path / "log")
    log = SyslogLog(socket_path=str(tmp_path / "log"))
    log(LogLine("(VI_1) Entering MASTER STATE"))
    log(LogLine("detail only with -D", detail=True))
    log(LogLine("cannot send", level="error"))
    first, second = receiver.recv(4096).decode(), receiver.recv(4096).decode()
    stamp = r"[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d"
    assert re.fullmatch(rf"<30>{stamp} Keepalived_vrrp\[{os.getpid()}\]: \(VI_1\) Entering MASTER STATE", first)
    assert second.startswith("<27>") and second.endswith("cannot send")  # daemon.err
    # syslogd restarted: the socket is re-created and the next line still arrives
    receiver.close()
    (tmp_path / "log").unlink()
    receiver = bound_datagram_socket(tmp_path / "log")
    log(LogLine("after restart"))
    assert receiver.recv(4096).decode().endswith("after restart")


def test_log_lines_show_escape_sequences_instead_of_sending_them(tmp_path: Path) -> None:
    """An instance named with an escape sequence (`vrrp_instance "\\E[2J"`) reaches syslog and `-l` printable."""
    import io

    from vrrptui.daemon.logsink import ConsoleLog

    receiver = bound_datagram_socket(tmp_path / "log")
    SyslogLog(socket_path=str(tmp_path / "log"))(LogLine("(\x1b[2J) Entering MASTER STATE"))
    assert receiver.recv(4096).decode().endswith(": (\\x1b[2J) Entering MASTER STATE")
    out = io.StringIO()
    ConsoleLog(out)(LogLine("(\x1b[2J\u202e) Entering MASTER STATE"))
    assert out.getvalue().endswith(": (\\x1b[2J\\u202e) Entering MASTER STATE\n")


def test_a_stalled_syslog_never_blocks_the_daemon_lines_are_counted_instead(tmp_path: Path) -> None:
    receiver = bound_datagram_socket(tmp_path / "log")
    log = SyslogLog(socket_path=str(tmp_path / "log"))
    for n in range(2000):  # far beyond a unix datagram queue: send() would block without O_NONBLOCK
        log(LogLine(f"line {n}"))
    assert log.dropped > 0
    dropped = log.dropped
    while True:
        receiver.settimeout(0.05)
        try:
            receiver.recv(4096)
        except TimeoutError:
            break
    log(LogLine("caught up"))
    assert receiver.recv(4096).decode().endswith(f"{dropped} log lines dropped: syslog fell behind")
    assert receiver.recv(4096).decode().endswith("caught up")


def test_without_a_syslog_socket_the_daemon_says_so_before_it_detaches(tmp_path: Path,
                                                                       capsys: pytest.CaptureFixture[str]) -> None:
    from vrrptui.daemon import cmdline
    from vrrptui.daemon.service import make_log

    make_log(cmdline.parse(["-n", "--syslog-socket", str(tmp_path / "nothing")]))
    assert "no syslog socket at" in capsys.readouterr().err
    make_log(cmdline.parse(["-n", "-l"]))
    make_log(cmdline.parse(["-n", "-G"]))
    assert capsys.readouterr().err == ""
