"""Where the console appends drills: --drills wins, else /var/lib/vrrptui as root, else the XDG state dir."""

from __future__ import annotations

import os
from pathlib import Path

from vrrptui.console.cli import build_sniff
from vrrptui.console.backends import NullBackend


def sniff(argv):
    return build_sniff(argv, backend_factory=lambda ifname: NullBackend(engine=False),
                       prober_factory=lambda report: None, host_factory=None)


def test_drills_option_wins_over_the_default(tmp_path):
    app = sniff(["lo", "--drills", str(tmp_path / "team" / "drills.jsonl")])
    assert app.session.drill_store.path == tmp_path / "team" / "drills.jsonl"


def test_default_drills_file_follows_the_effective_user(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    app = sniff(["lo"])
    expected = Path("/var/lib/vrrptui/drills.jsonl") if os.geteuid() == 0 else tmp_path / "state/vrrptui/drills.jsonl"
    assert app.session.drill_store.path == expected
