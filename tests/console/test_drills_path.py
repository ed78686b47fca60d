"""Where the console keeps drills and events: --drills wins, else STATE_DIR/vrrptui/<config-name>/."""

from __future__ import annotations

from vrrptui.console.cli import build_sniff
from vrrptui.console.backends import NullBackend


def sniff(argv):
    return build_sniff(argv, backend_factory=lambda ifname: NullBackend(engine=False),
                       prober_factory=lambda report: None, host_factory=None)


def test_drills_option_wins_over_the_default(tmp_path):
    app = sniff(["lo", "--drills", str(tmp_path / "team" / "drills.jsonl")])
    assert app.session.drill_store.path == tmp_path / "team" / "drills.jsonl"


def test_drills_and_events_default_to_the_state_dir_scoped_to_what_is_watched(tmp_path, monkeypatch):
    monkeypatch.setenv("VRRPTUI_STATE_DIR", str(tmp_path / "state"))
    app = sniff(["lo"])
    assert app.session.drill_store.path == tmp_path / "state/vrrptui/sniff-lo/drills.jsonl"
    assert app.files.directory.path == tmp_path / "state/vrrptui/sniff-lo"
