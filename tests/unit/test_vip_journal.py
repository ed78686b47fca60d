"""The journal of held VIPs (daemon/stale.py): written atomically, read back, never followed through a link."""

from __future__ import annotations

import ipaddress
import os

import pytest

from vrrptui.daemon.pidfile import PidFile, config_lock_path
from vrrptui.daemon.stale import VipJournal, remove_journalled


@pytest.fixture
def runtime(tmp_path, monkeypatch):
    monkeypatch.setenv("VRRPTUI_RUNTIME_DIR", str(tmp_path))
    return tmp_path


def test_write_read_and_clear(runtime):
    journal = VipJournal.for_config("/etc/keepalived/keepalived.conf")
    assert journal.path.parent == runtime and journal.path.suffix == ".vips"
    journal.write([("eth0", "192.168.1.100/24"), ("eth1", "2001:db8::1/64"), ("eth0", "192.168.1.100/24")])
    assert journal.read() == [("eth0", ipaddress.ip_interface("192.168.1.100/24")),
                              ("eth1", ipaddress.ip_interface("2001:db8::1/64"))]
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
    assert journal.read() == [("eth0", ipaddress.ip_interface("192.168.1.100/24"))]
    assert journal.read_listening() == [(("eth0", 4, 51), False), (("eth1", 6, 112), True)]
    journal.write([])  # nothing held: no journal, whatever the sockets
    assert not journal.path.exists()


def test_a_malformed_socket_line_is_skipped(runtime):
    journal = VipJournal.for_config("/etc/keepalived/keepalived.conf")
    journal.path.write_text("eth0 192.168.1.100/24\nlisten eth0 x 112 multicast\n")
    assert journal.read() == [("eth0", ipaddress.ip_interface("192.168.1.100/24"))]
    assert journal.read_listening() == []
