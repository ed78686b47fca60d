"""`vrrptui lab up` then `vrrptui lab down` leaves no namespace and no process behind."""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path

import pytest

from vrrptui.lab import cli
from vrrptui.lab.netns import list_namespaces, namespace_pids, wait_for

pytestmark = pytest.mark.netns


@pytest.fixture
def private_lab(netns_ok: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """The DENT lab under private names (vrrptui-<tag>-dent2 ...) so the demo lab is untouched."""
    tag = f"t{os.getpid():x}{secrets.token_hex(2)}"
    monkeypatch.setenv("VRRPTUI_LAB_TAG", tag)
    monkeypatch.setenv("VRRPTUI_LAB_DIR", str(tmp_path / "lab"))
    names = cli.namespaces(tag)
    try:
        yield names, tmp_path / "lab"
    finally:
        cli.main(["down"])
        monkeypatch.undo()
        cli._configure_from_env()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"


def _up_then_down(peer: str, names: dict[str, str], run_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["up", "--peer", peer]) == 0
    assert set(names.values()) <= set(list_namespaces())
    state = json.loads((run_dir / "lab.json").read_text())
    pids = list(state["pids"].values())
    assert all(_alive(p) for p in pids)
    assert namespace_pids(names["dent3"]) and namespace_pids(names["pc1"])
    # dent2 is empty, so dent3 takes the VIP after its Master_Down_Interval and pc1 gets replies.
    ping_log = run_dir / "pc1-ping.log"
    assert wait_for(lambda: " bytes from 192.168.1.13" in ping_log.read_text(), 15), ping_log.read_text()
    assert cli.main(["status"]) == 0
    out = capsys.readouterr().out
    assert "VIP 192.168.1.13 held by: dent3" in out
    assert cli.main(["up", "--peer", peer]) == 0  # idempotent: down first, then up again
    pids += list(json.loads((run_dir / "lab.json").read_text())["pids"].values())
    assert cli.main(["down"]) == 0
    assert not set(names.values()) & set(list_namespaces())
    assert not any(_alive(p) for p in pids)
    assert cli.main(["status"]) == 3


@pytest.mark.keepalived
def test_lab_up_then_down_with_keepalived_leaves_nothing(private_lab, keepalived_ok: str, capsys) -> None:
    names, run_dir = private_lab
    _up_then_down("keepalived", names, run_dir, capsys)


def test_lab_up_then_down_with_vrrptui_leaves_nothing(private_lab, capsys) -> None:
    names, run_dir = private_lab
    _up_then_down("vrrptui", names, run_dir, capsys)


def _stat(pid: int) -> str:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]


def test_lab_peer_freeze_thaw_stop_start(private_lab, capsys) -> None:
    names, run_dir = private_lab
    assert cli.main(["up", "--peer", "vrrptui"]) == 0
    lab = cli.make_lab(run_dir)
    assert wait_for(lambda: lab.has_vip("dent3", cli.VIP), 15)
    pid = json.loads((run_dir / "lab.json").read_text())["pids"]["dent3"]
    capsys.readouterr()

    assert cli.main(["peer", "freeze"]) == 0
    assert capsys.readouterr().out.startswith(f"dent3: vrrptui frozen (SIGSTOP, pid {pid}): no adverts, the VIP")
    assert wait_for(lambda: _stat(pid) == "T", 5) and lab.has_vip("dent3", cli.VIP)
    assert cli.main(["peer", "start"]) == 1
    assert "already runs on dent3" in capsys.readouterr().err
    assert cli.main(["peer", "thaw"]) == 0
    assert capsys.readouterr().out == f"dent3: vrrptui thawed (SIGCONT, pid {pid})\n"
    assert wait_for(lambda: _stat(pid) in "RS", 5)

    assert cli.main(["peer", "stop"]) == 0
    assert capsys.readouterr().out == "dent3: vrrptui stopped (SIGTERM: resigned with priority 0, VIP removed)\n"
    assert not _alive(pid) and not lab.has_vip("dent3", cli.VIP)
    assert cli.main(["peer", "freeze"]) == 1
    assert "does not run on dent3: `vrrptui lab peer start`" in capsys.readouterr().err

    assert cli.main(["peer", "start"]) == 0
    new_pid = json.loads((run_dir / "lab.json").read_text())["pids"]["dent3"]
    assert new_pid != pid and _alive(new_pid)
    assert wait_for(lambda: lab.has_vip("dent3", cli.VIP), 15)
