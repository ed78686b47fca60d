"""Files written as root never follow a symlink: safefiles and every writer built on it."""

from __future__ import annotations

import json
import os
import stat
from dataclasses import replace
from pathlib import Path

import pytest

from vrrptui import safefiles
from vrrptui.daemon.dump import write_private
from vrrptui.daemon import drillfile
from vrrptui.daemon.drillfile import append_drill, read_drills
from vrrptui.daemon.metrics import DrillCollector
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


@pytest.mark.timeout(20)
def test_drills_are_read_bounded_from_a_regular_file_and_bad_lines_are_skipped(tmp_path: Path, monkeypatch) -> None:
    # read at each metrics scrape: a wrong-typed value gave HTTP 500 for every metric, a non-UTF-8 byte a
    # traceback, a symlink to a large file its whole size in memory, a FIFO a thread blocked for good
    path = tmp_path / "drills.jsonl"
    append_drill(path, DRILL)
    with path.open("ab") as f:
        f.write(b'{"action": "demote", "takeover_ms": "120"}\n\xff\xfe\n[1]\n{"vrid": true}\n')
        f.write(json.dumps({**DRILL.to_json(), "takeover_ms": "120"}).encode() + b"\n")
        f.write(json.dumps({**DRILL.to_json(), "vrid": True}).encode() + b"\n")
        f.write(json.dumps({**DRILL.to_json(), "nonsense": 1}).encode() + b"\n")
    append_drill(path, replace(DRILL, action="failover", takeover_ms=120))  # an int where a float goes: fine
    assert [d.action for d in read_drills(path)] == ["demote", "failover"]
    collected = list(DrillCollector(str(path)).collect())
    assert [s.value for s in collected[0].samples] == [0.12]

    monkeypatch.setattr(drillfile, "MAX_READ", 4096)  # the newest drills only
    for n in range(100):
        append_drill(path, replace(DRILL, vrid=n))
    drills = read_drills(path)
    assert drills[-1].vrid == 99 and 5 < len(drills) < 100

    fifo, link = tmp_path / "fifo.jsonl", tmp_path / "link.jsonl"
    os.mkfifo(fifo)
    link.symlink_to(path)
    assert read_drills(fifo) == read_drills(link) == read_drills(tmp_path / "missing") == []


def test_pcap_is_written_new_and_never_through_a_symlink(tmp_path: Path, victim: Path) -> None:
    link = tmp_path / "vrrptui-20261203-040000.pcap"
    link.symlink_to(victim)
    with pytest.raises(OSError):
        write_pcap(link, [(0.0, b"\x45" + bytes(19))])
    assert victim.read_text() == "root:secret\n"
