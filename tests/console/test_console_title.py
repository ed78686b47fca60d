"""The header names the config as the operator gave it (screenshots never show a machine path)."""

from __future__ import annotations

from vrrptui.console.app import VrrpConsole
from vrrptui.console.backends import NullBackend
from vrrptui.console.cli import build_console
from vrrptui.config.parser import parse_config

CONF = """\
vrrp_instance VI_1 {
    state BACKUP
    interface eth0
    virtual_router_id 51
    priority 100
    advert_int 1
    virtual_ipaddress {
        192.0.2.51/32
    }
}
"""


def test_header_shows_the_config_path_as_given(tmp_path, monkeypatch):
    (tmp_path / "configs").mkdir()
    (tmp_path / "configs" / "r1.conf").write_text(CONF)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("VRRPTUI_STATE_DIR", str(tmp_path / "state"))
    # no root and no eth0 needed here: the config is parsed, its interfaces not looked up
    monkeypatch.setattr("vrrptui.daemon.preflight.preflight", lambda path: parse_config(path, check_interfaces=False))
    app = build_console(["configs/r1.conf"], backend_factory=lambda config: NullBackend(),
                        prober_factory=lambda report: None, host_factory=None)
    assert isinstance(app, VrrpConsole)
    assert app.title_text == "configs/r1.conf"
