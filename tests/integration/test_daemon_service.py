"""The daemon as systemd runs it: keepalived's options, sd_notify, syslog, pid files, detaching.

r1 runs `vrrptui -n -f CONF -p PIDFILE` with NOTIFY_SOCKET and a syslog socket bound by the
test (datagram sockets, as systemd and journald/rsyslog bind them); r2 (headless vrrptui)
is master for VRID 52, so r1 ends with one MASTER and one BACKUP instance.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import psutil
import pytest

from vrrptui.lab.namespaces import vrrptui_command
from vrrptui.lab.netns import Lab
from vrrptui.lab.netns import fast_v3_conf as conf

pytestmark = pytest.mark.netns

WAIT = 10.0  # upper bound for anything to happen; never a performance claim


def two_instances(vi1: int, vi2: int) -> str:
    return conf(vi1) + conf(vi2, vrid=52, name="VI_2").replace("192.168.1.100", "192.168.1.101")


class Datagrams:
    """A datagram socket the test binds (NOTIFY_SOCKET, /dev/log stand-in), read by a thread as
    systemd and syslog daemons read theirs (a unix datagram queue holds only ~10 messages)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(path))
        self.sock.settimeout(0.05)
        self.seen: list[str] = []
        self._closed = threading.Event()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        while not self._closed.is_set():
            try:
                self.seen.append(self.sock.recv(65536).decode())
            except TimeoutError:
                continue
            except OSError:
                return

    def wait_for(self, predicate: Any, timeout: float = WAIT) -> str | None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for message in list(self.seen):
                if predicate(message):
                    return message
            time.sleep(0.02)
        return None

    def close(self) -> None:
        self._closed.set()
        self._reader.join()
        self.sock.close()


def gone(pid: int) -> bool:
    """Exited (a zombie counts: its parent is whatever reaps orphans here)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except (OSError, IndexError):
        return True


def start_daemon(lab: Lab, node: str, argv: list[str], notify: Datagrams) -> subprocess.Popen[Any]:
    env = {**os.environ, "NOTIFY_SOCKET": str(notify.path), "VRRPTUI_RUNTIME_DIR": str(lab.node_dir(node) / "run")}
    return lab.popen(node, [*vrrptui_command(), *argv], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                     stdin=subprocess.DEVNULL, text=True)


def test_sd_notify_syslog_pid_file_reload_stop_and_a_second_daemon_refused(lab: Lab, tmp_path: Path) -> None:
    peer = lab.start_vrrptui("r2", conf(100, vrid=51) + conf(200, vrid=52, name="VI_2").replace("192.168.1.100",
                                                                                                 "192.168.1.101"))
    notify, syslog = Datagrams(tmp_path / "notify"), Datagrams(tmp_path / "log")
    config = lab.node_dir("r1") / "k.conf"
    config.write_text(two_instances(150, 100))
    pidfile = tmp_path / "vrrptui.pid"
    argv = ["-n", "-D", "-f", str(config), "-p", str(pidfile), "--syslog-socket", str(syslog.path)]
    proc = start_daemon(lab, "r1", argv, notify)
    try:
        assert notify.wait_for(lambda m: "READY=1" in m.split("\n")), (notify.seen, lab.log(peer))
        assert pidfile.read_text() == f"{proc.pid}\n"
        assert notify.wait_for(lambda m: m == "STATUS=2 instances: 1 MASTER, 1 BACKUP"), (notify.seen, syslog.seen)
        line = syslog.wait_for(lambda m: "(VI_1) Entering MASTER STATE" in m)
        assert line is not None and line.startswith("<30>"), syslog.seen  # daemon.info
        assert f" Keepalived_vrrp[{proc.pid}]: " in line

        # a second daemon: same config, then another config on the same pid file
        env = {**os.environ, "VRRPTUI_RUNTIME_DIR": str(lab.node_dir("r1") / "run")}
        second = lab.exec("r1", [*vrrptui_command(), "-n", "-l", "-f", str(config)], env=env, timeout=60)
        assert second.returncode == 2
        assert f"another vrrptui (pid {proc.pid}) already runs" in second.stderr
        other = lab.node_dir("r1") / "other.conf"
        other.write_text(conf(120, vrid=60))
        third = lab.exec("r1", [*vrrptui_command(), "-n", "-l", "-f", str(other), "-p", str(pidfile)], env=env,
                         timeout=60)
        assert third.returncode == 2 and f"already runs with pid file {pidfile}" in third.stderr

        notify.seen.clear()
        proc.send_signal(signal.SIGHUP)
        assert notify.wait_for(lambda m: m.startswith("RELOADING=1\nMONOTONIC_USEC=")), notify.seen
        assert notify.wait_for(lambda m: m.startswith("READY=1")), notify.seen
        assert syslog.wait_for(lambda m: m.endswith("Reload complete"))
        assert [m.split("\n")[0] for m in notify.seen[:2]] == ["RELOADING=1", "READY=1"]

        config.write_text(two_instances(150, 100).replace("virtual_router_id 52", "virtual_router_id 300"))
        notify.seen.clear()
        proc.send_signal(signal.SIGHUP)  # a broken config: READY=1 again, and STATUS says the reload failed
        failed = notify.wait_for(lambda m: m.startswith("READY=1"))
        assert failed == ("READY=1\nSTATUS=2 instances: 1 MASTER, 1 BACKUP; reload failed, running the previous "
                          "configuration (see the log)"), notify.seen

        proc.send_signal(signal.SIGTERM)
        assert proc.wait(WAIT) == 0
        assert notify.wait_for(lambda m: m == "STOPPING=1")
        assert not pidfile.exists()
        assert proc.stdout is not None and proc.stdout.read() == ""  # without -l: syslog only
    finally:
        if proc.poll() is None:
            proc.kill()
        notify.close()
        syslog.close()


def test_without_dont_fork_it_detaches_and_the_pid_file_names_the_daemon(lab: Lab, tmp_path: Path) -> None:
    config = lab.node_dir("r1") / "k.conf"
    config.write_text(conf(150))
    pidfile = tmp_path / "vrrptui.pid"
    env = {**os.environ, "VRRPTUI_RUNTIME_DIR": str(lab.node_dir("r1") / "run")}
    started = lab.exec("r1", [*vrrptui_command(), "-f", str(config), "-p", str(pidfile), "-G"], env=env, timeout=60)
    assert started.returncode == 0, started.stderr  # returns once the instances are up
    pid = int(pidfile.read_text())
    try:
        assert os.getsid(pid) != os.getsid(0)  # its own session, no terminal
        assert os.readlink(f"/proc/{pid}/cwd") == "/"
        assert lab.wait_for(lambda: lab.vip_holders("192.168.1.100") == ["r1"], WAIT)
    finally:
        os.kill(pid, signal.SIGTERM)
    assert lab.wait_for(lambda: gone(pid), WAIT)
    assert not pidfile.exists()
    assert lab.vip_holders("192.168.1.100") == []


def test_a_detached_daemon_started_with_a_relative_config_journals_it_and_its_guardian_resigns(
        lab: Lab, tmp_path: Path) -> None:
    """`vrrptui -f k.conf` from the config's directory: after the chdir("/") of detaching, the journal is
    still the config's (named as its lock), so kill -9 of the daemon alone leaves its guardian the VIP and
    the priority-0 advert to deal with; the guardian runs with stdout and stderr on /dev/null, as the
    daemon does."""
    node_dir = lab.node_dir("r1")
    (node_dir / "k.conf").write_text(conf(150))
    pidfile = tmp_path / "vrrptui.pid"
    env = {**os.environ, "VRRPTUI_RUNTIME_DIR": str(node_dir / "run")}
    started = lab.exec("r1", [*vrrptui_command(), "-f", "k.conf", "-p", str(pidfile), "-G"], env=env, timeout=60,
                       cwd=node_dir)
    assert started.returncode == 0, started.stderr
    pid = int(pidfile.read_text())
    assert lab.wait_for(lambda: lab.vip_holders("192.168.1.100") == ["r1"], WAIT)
    run = node_dir / "run"
    assert lab.wait_for(lambda: [p.stem for p in run.glob("*.vips")] == [p.stem for p in run.glob("net*.pid")], WAIT)
    guardian = [p for p in psutil.Process(pid).children() if "vrrptui.daemon.guardian" in p.cmdline()]
    assert len(guardian) == 1 and os.readlink(f"/proc/{guardian[0].pid}/fd/1") == "/dev/null"
    os.kill(pid, signal.SIGKILL)
    assert lab.wait_for(lambda: lab.vip_holders("192.168.1.100") == [], WAIT)
    assert lab.wait_for(lambda: not list(run.glob("*.vips")) and gone(guardian[0].pid), WAIT)


def test_a_detached_start_that_fails_says_why_and_leaves_no_pid_file(lab: Lab, tmp_path: Path) -> None:
    env = {**os.environ, "VRRPTUI_RUNTIME_DIR": str(lab.node_dir("r1") / "run")}
    first = lab.node_dir("r1") / "first.conf"
    first.write_text(conf(150))
    holder = lab.popen("r1", [*vrrptui_command(), "-n", "-G", "-f", str(first), "--metrics", "192.168.1.11:9165"],
                       env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
    assert lab.wait_for(lambda: lab.vip_holders("192.168.1.100") == ["r1"], WAIT)
    second = lab.node_dir("r1") / "second.conf"
    second.write_text(conf(150, vrid=52).replace("192.168.1.100", "192.168.1.101"))
    pidfile = tmp_path / "second.pid"
    out = lab.exec("r1", [*vrrptui_command(), "-G", "-f", str(second), "-p", str(pidfile), "--metrics",
                          "192.168.1.11:9165"], env=env, timeout=60)
    assert out.returncode == 1
    assert "vrrptui: cannot serve metrics on 192.168.1.11:9165: Address already in use" in out.stderr
    assert lab.wait_for(lambda: not pidfile.exists(), WAIT)
    assert holder.poll() is None


def test_config_id_selects_at_lines_at_start_and_after_a_reload(lab: Lab, tmp_path: Path) -> None:
    config = lab.node_dir("r1") / "k.conf"
    config.write_text(conf(100).replace("    priority 100\n", "    @lb1 priority 200\n    @^lb1 priority 120\n"))
    env = {**os.environ, "VRRPTUI_RUNTIME_DIR": str(lab.node_dir("r1") / "run")}
    test = lab.exec("r1", [*vrrptui_command(), "-t", "-i", "lb1", "-f", str(config)], env=env, timeout=60)
    assert test.returncode == 0, test.stderr
    proc = lab.popen("r1", [*vrrptui_command(), "-n", "-l", "-i", "lb1", "-f", str(config)], env=env,
                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)

    def priority() -> int | None:
        out = lab.exec("r1", [*vrrptui_command(), "status", "--json", "--pid", str(proc.pid)], env=env, timeout=60)
        daemons = json.loads(out.stdout or "{}").get("daemons") or [{}]
        instances = daemons[0].get("instances") or [{}]
        return instances[0].get("configured_priority")

    assert lab.wait_for(lambda: priority() == 200, WAIT, 0.1)
    proc.send_signal(signal.SIGHUP)  # the reload parses with the same -i
    time.sleep(1.0)
    assert priority() == 200
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(WAIT) == 0


def test_a_stop_during_a_reload_tells_systemd_stopping_and_not_ready(lab: Lab, tmp_path: Path) -> None:
    """SIGHUP, then SIGTERM while the file is parsed: the reload is abandoned, and systemd, told STOPPING=1,
    gets no READY=1 after it (a notify_stop script of a second keeps the daemon there to say it)."""
    notify = Datagrams(tmp_path / "notify")
    config = lab.node_dir("r1") / "k.conf"
    config.write_text(conf(150, extra='notify_stop "/bin/sleep 1"'))
    proc = start_daemon(lab, "r1", ["-n", "-l", "-f", str(config)], notify)
    try:
        assert notify.wait_for(lambda m: m == "STATUS=1 instance: 1 MASTER"), notify.seen
        notify.seen.clear()
        proc.send_signal(signal.SIGHUP)
        time.sleep(0.01)  # the parse has begun in its child process
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(WAIT) == 0
        firsts = [m.split("\n")[0] for m in notify.seen]
        assert firsts[:2] == ["RELOADING=1", "STOPPING=1"] and "READY=1" not in firsts, notify.seen
        assert proc.stdout is not None and "Reload abandoned: stopping" in proc.stdout.read()
    finally:
        if proc.poll() is None:
            proc.kill()
        notify.close()
