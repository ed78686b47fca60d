"""Files written as root never follow a symlink: safefiles and every writer built on it."""

from __future__ import annotations

import os
import stat
from dataclasses import replace
from pathlib import Path

import pytest

from vrrptui import safefiles
from vrrptui.daemon.dump import write_private
from vrrptui.daemon.drillfile import append_drill, read_drills
from vrrptui.records import Drill
from vrrptui.protocol.pcap import write_pcap
from vrrptui.safefiles import UnsafePath

DRILL = Drill(action="demote", instance="VI_1", interface="eth0", vrid=51, family=4, started="2026-12-03T04:00:00",
              acted_at=1.0, old_master="192.168.1.11")


@pytest.fixture
def victim(tmp_path: Path) -> Path:
    path = tmp_path / "etc-shadow"
    path.write_text("root:secret\n")
    return path


def mode(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


def test_write_new_refuses_a_symlink_and_an_existing_file(tmp_path: Path, victim: Path) -> None:
    link = tmp_path / "out.pcap"
    link.symlink_to(victim)
    with pytest.raises(OSError):
        safefiles.write_new(link, b"x")
    with pytest.raises(FileExistsError):
        safefiles.write_new(victim, b"x")
    assert victim.read_text() == "root:secret\n"
    new = tmp_path / "new"
    safefiles.write_new(new, b"data")
    assert (new.read_bytes(), mode(new)) == (b"data", 0o600)


def test_append_refuses_a_symlink_and_a_fifo(tmp_path: Path, victim: Path) -> None:
    link = tmp_path / "drills.jsonl"
    link.symlink_to(victim)
    with pytest.raises(UnsafePath, match="is a symlink: not following it"):
        safefiles.append(link, b"x\n")
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    with pytest.raises(OSError):  # no reader: ENXIO at once, never a hang
        safefiles.append(fifo, b"x\n")
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    try:
        with pytest.raises(UnsafePath, match="not a regular file"):
            safefiles.append(fifo, b"x\n")
    finally:
        os.close(reader)
    assert victim.read_text() == "root:secret\n"
    log = tmp_path / "log"
    safefiles.append(log, b"a\n")
    safefiles.append(log, b"b\n")
    assert (log.read_bytes(), mode(log)) == (b"a\nb\n", 0o600)


def test_replace_swaps_a_planted_symlink_without_touching_its_target(tmp_path: Path, victim: Path) -> None:
    link = tmp_path / "vrrptui.data"
    link.symlink_to(victim)
    write_private(link, "dump\n")
    assert victim.read_text() == "root:secret\n"
    assert not link.is_symlink() and link.read_text() == "dump\n" and mode(link) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["etc-shadow", "vrrptui.data"]


def test_private_dir_is_created_0700_and_refuses_what_others_control(tmp_path: Path) -> None:
    made = safefiles.private_dir(tmp_path / "state" / "pcaps")
    assert mode(made) == 0o700
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o1777)
    with pytest.raises(UnsafePath, match="writable by group or others"):
        safefiles.private_dir(shared)
    other = tmp_path / "other"
    other.mkdir(mode=0o700)
    os.chown(other, 65534, 65534)
    with pytest.raises(UnsafePath, match="belongs to uid 65534"):
        safefiles.private_dir(other)
    link = tmp_path / "link"
    link.symlink_to(made)
    with pytest.raises(UnsafePath, match="not a directory"):
        safefiles.private_dir(link)


def test_drills_never_follow_a_symlink(tmp_path: Path, victim: Path) -> None:
    path = tmp_path / "drills.jsonl"
    path.symlink_to(victim)
    with pytest.raises(UnsafePath):
        append_drill(path, DRILL)
    assert victim.read_text() == "root:secret\n"
    path.unlink()
    append_drill(path, DRILL)
    append_drill(path, replace(DRILL, action="failover"))
    assert [d.action for d in read_drills(path)] == ["demote", "failover"]
    assert mode(path) == 0o600


def test_drills_directory_is_created_private_and_a_fifo_never_blocks(tmp_path: Path) -> None:
    path = tmp_path / "var" / "lib" / "vrrptui" / "drills.jsonl"
    append_drill(path, DRILL)
    assert mode(path.parent) == 0o700
    fifo = tmp_path / "fifo.jsonl"
    os.mkfifo(fifo)
    with pytest.raises(OSError):
        append_drill(fifo, DRILL)


def test_pcap_is_written_new_and_never_through_a_symlink(tmp_path: Path, victim: Path) -> None:
    link = tmp_path / "vrrptui-20261203-040000.pcap"
    link.symlink_to(victim)
    with pytest.raises(OSError):
        write_pcap(link, [(0.0, b"\x45" + bytes(19))])
    assert victim.read_text() == "root:secret\n"
