"""The journal of held VIPs (daemon/stale.py): written atomically, read back, never followed through a link."""

from __future__ import annotations

import ipaddress
import os
import socket
import subprocess
import sys

import pytest

from vrrptui.daemon.pidfile import PidFile, config_lock_path
from vrrptui.daemon.stale import JOURNAL_MAX, VipJournal, remove_journalled


@pytest.fixture
def runtime(tmp_path, monkeypatch):
    monkeypatch.setenv("VRRPTUI_RUNTIME_DIR", str(tmp_path))
    return tmp_path


def test_write_read_and_clear(runtime):
    journal = VipJournal.for_config("/etc/keepalived/keepalived.conf")
    assert journal.path.parent == runtime and journal.path.suffix == ".vips"
    journal.write([("eth0", "192.168.1.100/24"), ("eth1", "2001:db8::1/64"), ("eth0", "192.168.1.100/24")])
    assert journal.read() == [("eth0", "192.168.1.100/24", socket.AF_INET, socket.inet_aton("192.168.1.100"), 24),
                              ("eth1", "2001:db8::1/64", socket.AF_INET6, ipaddress.ip_address("2001:db8::1").packed,
                               64)]
    assert oct(journal.path.stat().st_mode & 0o777) == "0o600"
    journal.write([])  # nothing held: no journal
    assert not journal.path.exists()
    assert journal.read() == []


def test_a_symlink_is_never_followed(runtime, tmp_path):
    journal = VipJournal.for_config("/etc/keepalived/keepalived.conf")
    target = tmp_path / "elsewhere"
    target.write_text("eth0 10.0.0.1/8\n")
    os.symlink(target, journal.path)
    assert journal.read() == []


def test_a_live_daemons_journal_is_not_acted_on(runtime):
    config = "/etc/keepalived/keepalived.conf"
    VipJournal.for_config(config).write([("eth0", "192.168.1.100/24")])
    lock = PidFile(config_lock_path(runtime, config))
    lock.acquire()  # what a running daemon holds
    try:
        assert remove_journalled(config) == []
        assert VipJournal.for_config(config).path.exists()
    finally:
        lock.release()


def test_the_receiving_sockets_are_recorded_with_the_vips(runtime):
    journal = VipJournal.for_config("/etc/keepalived/keepalived.conf")
    journal.listening = lambda: [(("eth1", 6, 112), True), (("eth0", 4, 51), False)]
    journal.write([("eth0", "192.168.1.100/24")])
    assert journal.path.read_text() == ("eth0 192.168.1.100/24\n"
                                        "listen eth0 4 51 unicast\nlisten eth1 6 112 multicast\n")
    assert [held[:2] for held in journal.read()] == [("eth0", "192.168.1.100/24")]
    assert journal.read_listening() == [(("eth0", 4, 51), False), (("eth1", 6, 112), True)]
    journal.write([])  # nothing held: no journal, whatever the sockets
    assert not journal.path.exists()


def test_the_vips_the_instances_may_take_are_listed_before_any_is_held(runtime):
    """A backup's journal lists its VIPs as `may`: a kill -9 just after it adds them, before the journal is
    written again, still leaves them listed. A held VIP is listed once, as held; closing lists only what is
    still held (a VIP that could not be removed), else removes the journal."""
    journal = VipJournal.for_config("/etc/keepalived/keepalived.conf")
    journal.claimable = lambda: [("eth0", "192.168.1.101/24"), ("eth0", "192.168.1.100/24"), ("eth1", "fd00::1/64")]
    journal.write([])
    assert journal.path.read_text() == ("may eth0 192.168.1.100/24\nmay eth0 192.168.1.101/24\n"
                                        "may eth1 fd00::1/64\n")
    assert journal.read() == []
    assert [vip[:2] for vip in journal.read_claimable()] == [
        ("eth0", "192.168.1.100/24"), ("eth0", "192.168.1.101/24"), ("eth1", "fd00::1/64")]
    journal.write([("eth0", "192.168.1.100/24")])
    assert journal.path.read_text() == ("eth0 192.168.1.100/24\nmay eth0 192.168.1.101/24\n"
                                        "may eth1 fd00::1/64\n")
    journal.write([("eth0", "192.168.1.100/24")], closing=True)
    assert journal.path.read_text() == "eth0 192.168.1.100/24\n"
    journal.write([], closing=True)
    assert not journal.path.exists()


def test_a_malformed_may_line_is_skipped(runtime):
    journal = VipJournal.for_config("/etc/keepalived/keepalived.conf")
    journal.path.write_text("may eth0 192.168.1.300/24\nmay eth0 10.0.0.1/33\nmay eth0\nmay eth0 10.0.0.2/8 x\n"
                            "maybe eth0 10.0.0.3/8\nmay eth1 10.0.0.4/8\n")
    assert [vip[:2] for vip in journal.read_claimable()] == [("eth1", "10.0.0.4/8")]
    assert journal.read() == []


def test_a_malformed_socket_line_is_skipped(runtime):
    journal = VipJournal.for_config("/etc/keepalived/keepalived.conf")
    journal.path.write_text("eth0 192.168.1.100/24\nlisten eth0 x 112 multicast\n")
    assert [held[:2] for held in journal.read()] == [("eth0", "192.168.1.100/24")]
    assert journal.read_listening() == []


def test_a_malformed_vip_line_is_skipped(runtime):
    journal = VipJournal.for_config("/etc/keepalived/keepalived.conf")
    journal.path.write_text("eth0 192.168.1.300/24\neth0 192.168.1.1/33\neth0 fe80::1/129\neth0 10.0.0.1/x\n"
                            "eth0 10.0.0.1\neth0 10.0.0.2/²\neth0 10.0.0.3/8 extra\neth1 10.0.0.4/8\n")
    assert [held[:2] for held in journal.read()] == [("eth1", "10.0.0.4/8")]


def test_a_fifo_or_a_huge_journal_is_not_read_past_its_bound(runtime):
    journal = VipJournal.for_config("/etc/keepalived/keepalived.conf")
    os.mkfifo(journal.path)
    assert journal.read() == []  # not blocked on the FIFO, not read
    os.unlink(journal.path)
    journal.path.write_text("eth1 10.0.0.4/8\n" * (JOURNAL_MAX // 16 + 100))
    assert len(journal.read()) == JOURNAL_MAX // 16


def test_nothing_is_acted_on_in_a_runtime_directory_others_may_write(runtime):
    config = "/etc/keepalived/keepalived.conf"
    VipJournal.for_config(config).write([("eth0", "192.168.1.100/24")])
    os.chmod(runtime, 0o777)
    try:
        assert remove_journalled(config) == []
        assert VipJournal.for_config(config).path.exists()
    finally:
        os.chmod(runtime, 0o755)


def test_the_masters_priority_zero_adverts_are_recorded_for_the_guardian(runtime):
    journal = VipJournal.for_config("/etc/keepalived/keepalived.conf")
    journal.resigning = lambda: [("eth0", 4, "192.168.1.11", "224.0.0.18", b"\x31\x33\x00\x01", 112),
                                 ("eth1", 4, "192.168.2.11", "224.0.0.18", b"\x45\xc0", 51)]
    journal.write([("eth0", "192.168.1.100/24")])
    assert journal.path.read_text() == ("eth0 192.168.1.100/24\nresign eth0 4 192.168.1.11 224.0.0.18 31330001 112\n"
                                        "resign eth1 4 192.168.2.11 224.0.0.18 45c0 51\n")
    assert [held[:2] for held in journal.read()] == [("eth0", "192.168.1.100/24")]
    assert journal.read_resigns() == [("eth0", 4, "192.168.1.11", "224.0.0.18", b"\x31\x33\x00\x01", 112),
                                      ("eth1", 4, "192.168.2.11", "224.0.0.18", b"\x45\xc0", 51)]
    assert journal.read_listening() == []


def test_a_malformed_resign_line_is_skipped(runtime):
    journal = VipJournal.for_config("/etc/keepalived/keepalived.conf")
    journal.path.write_text("resign eth0 5 10.0.0.1 224.0.0.18 31\nresign eth0 4 10.0.0.1 224.0.0.18 3x\n"
                            "resign eth0 4 10.0.0.1 224.0.0.18\nresign eth0 4 10.0.0.1 224.0.0.18 31 extra\n"
                            "resign eth0 4 10.0.0.1 224.0.0.18 31 50\nresign eth1 6 fe80::1 ff02::12 3101 51\n"
                            "resign eth1 6 fe80::1 ff02::12 3101\n")  # the last: an earlier version's line
    assert journal.read_resigns() == [("eth1", 6, "fe80::1", "ff02::12", b"\x31\x01", 112)]
    assert journal.read() == []


def test_the_guardian_resigns_then_removes_under_the_lock_once_it_is_free(runtime):
    """The guardian's call: the dead daemon's lock may still be closing, so it is tried again for WAIT
    seconds; the resigns are handed over first, then the VIPs go (none here: no such interface) with
    the journal, and nothing is opened to listen."""
    import threading

    config = "/etc/keepalived/keepalived.conf"
    journal = VipJournal.for_config(config)
    journal.listening = lambda: [(("eth0", 4, 112), True)]
    journal.resigning = lambda: [("nosuch0", 4, "192.168.1.11", "224.0.0.18", b"\x31", 112)]
    journal.write([("nosuch0", "192.168.1.100/24")])
    handed: list[list] = []

    def resign(adverts: list) -> list[str]:
        handed.append(adverts)
        return ["sent"]

    lock = PidFile(config_lock_path(runtime, config))
    lock.acquire()  # the dead daemon's, released 50 ms later
    assert remove_journalled(config, resign=resign, wait=0.01) == [] and handed == []
    threading.Timer(0.05, lock.release).start()
    assert remove_journalled(config, resign=resign, wait=2.0) == ["sent"]
    assert handed == [[("nosuch0", 4, "192.168.1.11", "224.0.0.18", b"\x31", 112)]]
    assert not journal.path.exists()
    lock.acquire()  # released by the guardian
    lock.release()


def test_a_start_waits_briefly_for_a_config_lock_the_guardian_holds(runtime):
    import threading

    from vrrptui.daemon.pidfile import PidFileError, PidFiles

    guardian = PidFile(runtime / "k.pid")
    guardian.acquire()
    with pytest.raises(PidFileError):
        PidFiles([PidFile(runtime / "k.pid")]).acquire(wait=0.02)
    threading.Timer(0.05, guardian.release).start()
    daemon = PidFiles([PidFile(runtime / "k.pid"), PidFile(runtime / "p.pid")])
    daemon.acquire(wait=2.0)
    daemon.release()


def test_the_guardian_refuses_a_command_line_the_daemon_did_not_give(capsys):
    from vrrptui.daemon.guardian import main

    assert main(["x", "1", "/k.conf", "--", "-n"]) == 2
    assert main(["3", "1", "k.conf", "--", "-n"]) == 2  # the config's absolute path
    assert "started by the daemon" in capsys.readouterr().err


HEAVY = ("asyncio", "argparse", "ipaddress", "dataclasses", "typing", "pathlib", "socket", "enum", "__future__",
         "struct", "vrrptui.config", "vrrptui.daemon.cmdline", "vrrptui.daemon.earlylisten")


def test_the_daemon_cleans_up_before_its_heavy_imports(tmp_path):
    """`vrrptui --headless CONF` calls clean_up_early before asyncio, argparse or the config parser are
    imported, and clean_up_early's own imports are light (os, fcntl, _socket, _struct; not even __future__, whose
    module `from __future__ import annotations` loads): the stale VIPs
    go a few ms after the exec (their deletion, in a namespace: tests/integration/test_crash_restart.py)."""
    code = f"""if True:
        import sys
        from vrrptui.daemon import stale
        def spy(argv):
            print(sorted(m for m in {HEAVY!r} if m in sys.modules), stale.daemon_config(argv))
            raise SystemExit(0)
        stale.clean_up_early = spy
        from vrrptui.cli import main
        main(["-n", "-l", "-f", "{tmp_path}/k.conf"])
    """
    out = subprocess.run([sys.executable, "-S", "-c", code], capture_output=True, text=True, check=True,
                         env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}).stdout
    assert out == f"[] {tmp_path}/k.conf\n"


@pytest.mark.parametrize("argv", [
    ["--headless", "/etc/k.conf"], ["/etc/k.conf", "--headless"], ["-n", "-l", "-D", "-f", "/etc/k.conf"],
    ["-nlDf", "/etc/k.conf"], ["-nlf/etc/k.conf", "-p", "/run/k.pid"], ["--use-file=/etc/k.conf", "-G"],
    ["--use-file", "/etc/k.conf", "/etc/k.conf"], ["-n"], ["-p", "/run/x.conf", "-r", "/run/y.pid", "-i", "id"],
    ["-c", "/run/c.pid", "-b", "/run/b.pid", "-PBR", "--vrrp", "--no_bfd", "--dont-respawn", "k.conf"],
    ["--syslog-socket", "/dev/log", "--syslog-ident=x", "--pid=/run/p", "--vrrp_pid", "/run/v", "--config-id=a",
     "--checkers_pid=c", "--bfd_pid", "b", "--dont-fork", "--log-console", "--log-detail", "--no-syslog", "k.conf"],
    ["-t", "k.conf"], ["-tLOG", "k.conf"], ["--config-test=LOG"], ["-v"], ["-nv"], ["--version"], ["--signum=STOP"],
    ["-S", "local0", "k.conf"], ["-Slocal0", "-u", "077", "-f", "k.conf"], ["-u077", "k.conf"],
    ["--dont-fork", "--pid", "/run/vrrptui.pid", "-D", "--metrics", "127.0.0.1:9165", "-f", "k.conf"],
    ["--metrics=[::1]:9165", "--drills", "/var/lib/vrrptui/k/drills.jsonl", "k.conf"], ["--control", "/x", "k.conf"],
    ["--no-control", "--log-facility=local1", "--umask=022", "k.conf"],
])
def test_the_early_reading_of_the_command_line_finds_the_config_argparse_finds(argv):
    from vrrptui.daemon.cmdline import parse
    from vrrptui.daemon.stale import daemon_config

    args = parse(argv)
    assert daemon_config(argv) == (None if args.config_test or args.version or args.signum else args.config)


@pytest.mark.parametrize("argv", [
    ["--use", "k.conf"], ["-f", "a.conf", "b.conf"], ["a.conf", "b.conf"], ["-f"], ["-f", "-n"], ["-C"], ["-nX"],
    ["--", "k.conf"], ["--metrics"], ["-u", "-n"], ["--met", "127.0.0.1:9165"], ["--headless=1", "k.conf"], ["-"],
    ["--no-control=1"],
])
def test_a_command_line_the_early_reading_is_unsure_of_is_left_to_argparse(argv):
    from vrrptui.daemon.stale import daemon_config

    with pytest.raises(ValueError):
        daemon_config(argv)


def test_every_daemon_option_is_known_to_the_early_reading():
    from vrrptui.daemon import stale
    from vrrptui.daemon.cmdline import build_parser

    known = (stale.LONG_FLAGS | stale.LONG_VALUES | stale.NO_DAEMON
             | {f"-{c}" for c in stale.SHORT_FLAGS + stale.SHORT_VALUES})
    options = {o for action in build_parser()._actions for o in action.option_strings}
    assert options <= known, options - known


def test_the_guardian_waits_with_light_imports():
    """What the guardian holds in memory all the daemon's life: the interpreter and a few light modules, no
    argparse, ipaddress, socket module or config model (~6 MB more); they come only to log."""
    heavy = ("argparse", "ipaddress", "socket", "subprocess", "dataclasses", "vrrptui.config", "vrrptui.engine",
             "vrrptui.net.sockets", "vrrptui.daemon.logsink")
    code = ("import sys\nfrom vrrptui.daemon import guardian\nguardian.prepare()\n"
            f"print(sorted(m for m in {heavy!r} if m in sys.modules))")
    out = subprocess.run([sys.executable, "-P", "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]", out
